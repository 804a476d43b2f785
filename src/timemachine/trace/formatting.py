"""Text formatting of decoded ABI values and token amounts, shared by the decoder and renderers.

Follows Foundry's conventions: integers >= 10,000 get an exponent hint (`1000000 [1e6]`), strings
are quoted, bytes are 0x-hex, arrays are `[a, b]`, tuples `(a, b)`, labelled addresses
`Label: [0x…]`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from eth_abi.exceptions import ABITypeError, ParseError
from eth_abi.grammar import ABIType, BasicType, TupleType
from eth_abi.grammar import parse as parse_abi_type

EXP_HINT_FROM = 10_000


@lru_cache(maxsize=2048)
def abi_type(type_: str) -> ABIType:
    """The parsed (cached) eth_abi type for a canonical type string."""
    parsed: ABIType = parse_abi_type(type_)
    return parsed


def exp_notation(value: int) -> str:
    """Foundry's exponent hint: 4 significant digits, trailing zeros cut (1234567 -> 1.234e6)."""
    sign = "-" if value < 0 else ""
    digits = str(abs(value))
    mantissa = digits[:4].rstrip("0") or "0"
    if len(mantissa) > 1:
        mantissa = mantissa[0] + "." + mantissa[1:]
    return f"{sign}{mantissa}e{len(digits) - 1}"


def format_int(value: int, *, exp_hint: bool = True) -> str:
    """An integer in decimal, with Foundry's `[1.234e9]` hint when |value| >= 10,000."""
    if exp_hint and abs(value) >= EXP_HINT_FROM:
        return f"{value} [{exp_notation(value)}]"
    return str(value)


def format_address(address: str, labels: Mapping[str, str] | None = None) -> str:
    """`Label: [0x…]` when the address has a label (case-insensitive lookup), else the address."""
    label = lookup_label(address, labels)
    return f"{label}: [{address}]" if label else address


def lookup_label(address: str | None, labels: Mapping[str, str] | None) -> str | None:
    """The label of an address; keys may be lowercase or EIP-55 (see `normalize_labels`)."""
    if not address or not labels:
        return None
    return labels.get(address) or labels.get(address.lower())


def normalize_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Labels keyed by lowercase address, so lookups match any spelling."""
    return {key.lower(): value for key, value in (labels or {}).items()}


def format_value(
    type_: str,
    value: Any,
    *,
    labels: Mapping[str, str] | None = None,
    exp_hint: bool = True,
) -> str:
    """A JSON-ready decoded value (see Decoder) as display text, guided by its ABI type."""
    try:
        parsed = abi_type(type_)
    except (ParseError, ABITypeError):
        return _format_plain(value, exp_hint=exp_hint)
    return _format(parsed, value, labels, exp_hint)


def _format(parsed: ABIType, value: Any, labels: Mapping[str, str] | None, exp_hint: bool) -> str:
    if parsed.is_array and isinstance(value, list):
        inner = ", ".join(_format(parsed.item_type, item, labels, exp_hint) for item in value)
        return f"[{inner}]"
    if isinstance(parsed, TupleType) and isinstance(value, list):
        inner = ", ".join(
            _format(component, item, labels, exp_hint)
            for component, item in zip(parsed.components, value, strict=False)
        )
        return f"({inner})"
    base = parsed.base if isinstance(parsed, BasicType) else None
    if base == "address" and isinstance(value, str):
        return format_address(value, labels)
    if base == "string" and isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _format_plain(value, exp_hint=exp_hint)


def _format_plain(value: Any, *, exp_hint: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return format_int(value, exp_hint=exp_hint)
    if isinstance(value, list):
        return "[" + ", ".join(_format_plain(item, exp_hint=exp_hint) for item in value) + "]"
    return str(value)


def format_units(amount: int, decimals: int | None) -> str:
    """`amount` base units as an exact decimal string (1500000, 6 -> "1.5"); raw when unknown."""
    if decimals is None or decimals <= 0:
        return str(amount)
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**decimals)
    if not fraction:
        return f"{sign}{whole}"
    digits = str(fraction).rjust(decimals, "0").rstrip("0")
    return f"{sign}{whole}.{digits}"
