"""One naming service for every renderer: address labels and token symbols/decimals.

Names come, weakest first, from the bundled list of well-known contracts and tokens per chain
(`data/known_addresses.json`), from the replay itself (the fork's `symbol()`/`decimals()`, read
once per replay by `trace.balances`, and the decoded Transfer events), from the devnet manifest
and from the user's `--label`/`--labels` file. Amounts render as `35,000 USDX` or `1.5 ETH`; the
raw integers stay in the models (JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from timemachine.models.analysis import Names
from timemachine.models.analysis import TokenInfo as Token
from timemachine.models.trace import BalanceChange, CallFrame, TokenTransfer
from timemachine.trace.formatting import format_units

ETH = "ETH"
_ADDRESS = re.compile(r"(?<![0-9a-zA-Z])0x[0-9a-fA-F]{40}(?![0-9a-fA-F])")


@cache
def _known_document() -> dict[str, Any]:
    text = files("timemachine.trace").joinpath("data/known_addresses.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def known_entries(chain_id: int) -> dict[str, dict[str, Any]]:
    """The bundled well-known contracts and tokens of a chain, by checksummed address."""
    entries: dict[str, dict[str, Any]] = _known_document().get(str(chain_id), {})
    return entries


def group_digits(text: str) -> str:
    """`35000.5` -> `35,000.5`; a leading minus kept."""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, fraction = digits.partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


@dataclass
class Naming:
    """Labels (lower-cased address -> name) and tokens (lower-cased address -> `Token`)."""

    labels: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)

    @classmethod
    def for_chain(cls, chain_id: int, labels: Mapping[str, str] | None = None) -> Naming:
        """The bundled names of `chain_id`, then `labels` (the user's win)."""
        naming = cls()
        for address, entry in known_entries(chain_id).items():
            naming.labels[address.lower()] = str(entry["name"])
            if "symbol" in entry:
                naming.tokens[address.lower()] = Token(
                    symbol=entry["symbol"], decimals=entry.get("decimals")
                )
        naming.add_labels(labels or {})
        return naming

    @classmethod
    def of(
        cls,
        chain_id: int,
        *,
        transfers: Iterable[TokenTransfer] = (),
        balance_changes: Iterable[BalanceChange] = (),
        labels: Mapping[str, str] | None = None,
    ) -> Naming:
        """Names for one transaction: bundled, what the replay read on the fork, `labels`."""
        naming = cls.for_chain(chain_id)
        for transfer in transfers:
            if transfer.token and transfer.standard != ETH:
                naming.add_token(transfer.token, transfer.symbol, transfer.decimals)
        for change in balance_changes:
            if change.asset != ETH:
                naming.add_token(change.asset, change.symbol, change.decimals)
        naming.add_labels(labels or {})
        return naming

    @classmethod
    def from_names(cls, names: Names) -> Naming:
        return cls(labels=dict(names.labels), tokens=dict(names.tokens))

    def names_for(self, trace: CallFrame | None, addresses: Iterable[str] = ()) -> Names:
        """The labels and tokens of the addresses in `trace` and `addresses` (for a report)."""
        seen = {address.lower() for address in addresses}
        stack = [trace] if trace is not None else []
        while stack:
            frame = stack.pop()
            seen.update(a.lower() for a in (frame.from_, frame.to) if a)
            seen.update(log.address.lower() for log in frame.logs)
            stack.extend(frame.calls)
        return Names(
            labels={a: name for a, name in self.labels.items() if a in seen},
            tokens={a: token for a, token in self.tokens.items() if a in seen},
        )

    def add_labels(self, labels: Mapping[str, str]) -> None:
        self.labels.update({address.lower(): name for address, name in labels.items()})

    def add_token(self, address: str, symbol: str | None, decimals: int | None) -> None:
        """Read values win over bundled ones; a missing value keeps what was known."""
        known = self.tokens.get(address.lower(), Token())
        self.tokens[address.lower()] = Token(
            symbol=symbol or known.symbol, decimals=_first(decimals, known)
        )

    def display_labels(self) -> dict[str, str]:
        """Every name a tree shows: labels, and token symbols for unlabelled tokens."""
        named = {address: token.symbol for address, token in self.tokens.items() if token.symbol}
        return named | self.labels

    def label(self, address: str | None) -> str | None:
        """The name of an address (a token's symbol when it has no label), or None."""
        if not address:
            return None
        key = address.lower()
        return self.labels.get(key) or self.tokens.get(key, Token()).symbol

    def address(self, address: str | None) -> str:
        """`Name (0x…)` with the whole address, or the address alone when unnamed."""
        if not address:
            return "(none)"
        name = self.label(address)
        return f"{name} ({address})" if name else address

    def annotate(self, text: str) -> str:
        """`text` with each named address written `Name (0x…)` (hashes are left alone)."""
        return _ADDRESS.sub(lambda found: self.address(found.group(0)), text)

    def short(self, address: str | None) -> str:
        """The name alone when there is one, else the whole address."""
        return self.label(address) or address or "(none)"

    def symbol(self, asset: str) -> str:
        """`ETH`, a token's symbol, or its address when it has none."""
        if asset == ETH:
            return ETH
        return self.tokens.get(asset.lower(), Token()).symbol or self.label(asset) or asset

    def token(self, asset: str) -> Token:
        """ETH, or what is known about a token (possibly nothing)."""
        if asset == ETH:
            return Token(symbol=ETH, decimals=18)
        return self.tokens.get(asset.lower(), Token())

    def amount(self, asset: str, amount: int) -> str:
        """`1.5 ETH`, `35,000 USDX`; `N base units of token 0x…` only when nothing is known."""
        token = self.token(asset)
        if token.symbol and token.decimals is not None:
            return f"{group_digits(format_units(amount, token.decimals))} {token.symbol}"
        if token.symbol:
            return f"{amount:,} {token.symbol} (decimals unknown)"
        return f"{amount} base units of token {asset}"

    def units(self, asset: str, amount: int) -> str:
        """The amount in whole tokens with digit groups, without the symbol."""
        decimals = self.token(asset).decimals
        if decimals is None:
            return f"{amount:,}"
        return group_digits(format_units(amount, decimals))


def _first(decimals: int | None, known: Token) -> int | None:
    return decimals if decimals is not None else known.decimals
