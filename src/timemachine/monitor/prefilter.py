"""Which pending transactions are worth a simulation, and in what order under load.

A filter is a comma-separated list of terms; a transaction passes when any term matches:
`all`, `none`, `watched` (sender or target on the watch list), `unknown` (a contract call with an
unknown selector, or a contract creation), `flash-loan`, `kind=<kind>`, and `value>=<amount>`
(wei, or with an `eth` suffix: `value>=10eth`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from timemachine.errors import InvalidInputError
from timemachine.monitor.models import TX_KINDS, MonitoredTx

DEFAULT_FILTER = "watched,flash-loan,unknown,value>=10eth"
Term = Callable[[MonitoredTx], bool]


def _amount(text: str) -> int:
    text = text.strip().lower()
    scale = 10**18 if text.endswith("eth") else 1
    try:
        amount = Decimal(text.removesuffix("eth")) * scale
    except InvalidOperation:
        raise InvalidInputError(f"{text!r} is not an amount (wei, or ether with 'eth')") from None
    if amount < 0:
        raise InvalidInputError(f"{text!r} is negative")
    return int(amount)


def _term(text: str) -> Term:
    word = text.strip().lower()
    if word == "all":
        return lambda record: True
    if word == "none":
        return lambda record: False
    if word == "watched":
        return lambda record: bool(record.enrichment.watched)
    if word == "unknown":
        return lambda record: record.enrichment.unknown_selector or record.tx.to is None
    if word == "flash-loan":
        return lambda record: record.enrichment.kind == "flash_loan"
    if word.startswith("kind="):
        kind = word.removeprefix("kind=")
        if kind not in TX_KINDS:
            raise InvalidInputError(f"unknown kind {kind!r}; one of {', '.join(TX_KINDS)}")
        return lambda record: record.enrichment.kind == kind
    if word.startswith("value>="):
        threshold = _amount(word.removeprefix("value>="))
        return lambda record: record.tx.value >= threshold
    raise InvalidInputError(
        f"unknown simulation filter term {text!r}; use all, none, watched, unknown, flash-loan, "
        "kind=<kind> or value>=<wei|Neth>, separated by commas"
    )


@dataclass(frozen=True)
class SimulationFilter:
    """A parsed filter (`SimulationFilter.parse("watched,value>=10eth")`)."""

    text: str
    terms: tuple[Term, ...]

    @classmethod
    def parse(cls, text: str) -> SimulationFilter:
        words = [word for word in text.split(",") if word.strip()]
        if not words:
            raise InvalidInputError(
                "the simulation filter is empty; use 'none' to simulate nothing"
            )
        return cls(text, tuple(_term(word) for word in words))

    def passes(self, record: MonitoredTx) -> bool:
        return any(term(record) for term in self.terms)


def priority(record: MonitoredTx) -> tuple[int, int]:
    """Which candidate a full backlog keeps: watched, then flash loans, then unknown code, then
    the rest; by value within each."""
    enrichment = record.enrichment
    if enrichment.watched:
        rank = 3
    elif enrichment.kind == "flash_loan":
        rank = 2
    elif enrichment.unknown_selector or record.tx.to is None:
        rank = 1
    else:
        rank = 0
    return rank, record.tx.value
