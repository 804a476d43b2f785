"""Loss figures: the USD amount stated in a loss text, and the severity it implies.

A USD amount is read only where the text states one: `$900 million`, `~$1.2M`, `US$ 3,000`,
`1,340,000 USD`, `819 BNB (~224k$)`. Token amounts are never converted (`$ETH`, `~$2.3 ETH` and
`~$20k $USDT` use `$` as a token sigil and are not USD), and texts that start with `N/A`,
`Unclear` or `Unknown` have no figure even when they mention a hypothetical one. When a text
states several USD amounts the first one is taken.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum


class Severity(StrEnum):
    """Severity of an incident by its loss in USD (see `severity_for_loss`)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNKNOWN = "unknown"


#: Lower bounds in USD, highest first: a loss at or above the bound has that severity.
SEVERITY_THRESHOLDS: tuple[tuple[Severity, float], ...] = (
    (Severity.CRITICAL, 10_000_000.0),
    (Severity.HIGH, 1_000_000.0),
    (Severity.MEDIUM, 100_000.0),
)

_NUMBER = r"(?P<num>\d[\d,]*(?:\.\d+)?|\.\d+)"
_MULTIPLIER = r"(?:\s*(?P<mult>thousand|million|billion|mn|bn|[kmb])(?![a-z]))?"
_USD_AFTER = r"\s*\+?\s*(?:us\$|usd(?![a-z])|\$(?![a-z]))"
_PREFIXED = re.compile(r"(?:us\$|\$)\s*[~≈>]?\s*" + _NUMBER + _MULTIPLIER, re.IGNORECASE)
_SUFFIXED = re.compile(r"(?<![\w.,$])" + _NUMBER + _MULTIPLIER + _USD_AFTER, re.IGNORECASE)
_TOKEN_AFTER = re.compile(r"\s*(\$)?([A-Za-z][\w.\-]*)")
_NO_FIGURE = re.compile(r"^\s*(n/?a\b|unclear|unknown)", re.IGNORECASE)
_SCALE = {
    "k": Decimal(10**3),
    "thousand": Decimal(10**3),
    "m": Decimal(10**6),
    "mn": Decimal(10**6),
    "million": Decimal(10**6),
    "b": Decimal(10**9),
    "bn": Decimal(10**9),
    "billion": Decimal(10**9),
}


def parse_usd(text: str | None) -> float | None:
    """The first USD amount stated in a loss text, or None when it states none."""
    if not text or _NO_FIGURE.match(text):
        return None
    candidates: list[tuple[int, float]] = []
    for match in _PREFIXED.finditer(text):
        if not _followed_by_token(text, match.end()):
            candidates.append((match.start(), _amount(match)))
    for match in _SUFFIXED.finditer(text):
        candidates.append((match.start(), _amount(match)))
    if not candidates:
        return None
    return min(candidates)[1]


def severity_for_loss(loss_usd: float | None) -> Severity:
    """critical >= $10M, high >= $1M, medium >= $100k, low below; unknown without a USD figure."""
    if loss_usd is None:
        return Severity.UNKNOWN
    for severity, bound in SEVERITY_THRESHOLDS:
        if loss_usd >= bound:
            return severity
    return Severity.LOW


def _amount(match: re.Match[str]) -> float:
    value = Decimal(match.group("num").replace(",", ""))
    multiplier = match.group("mult")
    return float(value * _SCALE[multiplier.lower()] if multiplier else value)


def _followed_by_token(text: str, end: int) -> bool:
    """Whether a `$`-amount is followed by a token symbol (`$2.3 ETH`, `$20k $USDT`)."""
    after = _TOKEN_AFTER.match(text, end)
    if after is None:
        return False
    sigil, word = after.groups()
    if word.upper() in ("USD", "US"):
        return False
    return sigil is not None or sum(char.isupper() for char in word) >= 2


__all__ = ["SEVERITY_THRESHOLDS", "Severity", "parse_usd", "severity_for_loss"]
