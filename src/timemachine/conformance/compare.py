"""Canonical forms of geth tracer outputs and a field-by-field diff with readable messages.

Each canonical form mirrors what geth's runner does to both sides before comparing (see
HOW-GETH-RUNS-THEM.md): callTracer frames go through geth's fixed frame schema (key order, unknown
fields dropped, missing fields as the schema's zero value, numbers and hex re-encoded);
flatCallTracer frames through the typed flat schema, where zero and empty equal absent; prestate
results are compared as generic JSON, so every string must match exactly.
"""

from __future__ import annotations

from typing import Any

from timemachine.hexutil import hex_to_bytes, quantity

ABSENT = "(absent)"
_MAX_SHOWN = 80

_FRAME_FIELDS = (
    "from",
    "gas",
    "gasUsed",
    "to",
    "input",
    "output",
    "error",
    "revertReason",
    "calls",
    "logs",
    "value",
    "type",
)
_LOG_FIELDS = ("address", "topics", "data", "index", "position")
_FLAT_ACTION = (
    "callType",
    "from",
    "to",
    "gas",
    "value",
    "input",
    "init",
    "creationMethod",
    "address",
    "refundAddress",
    "balance",
    "author",
    "rewardType",
)
_FLAT_RESULT = ("gasUsed", "output", "address", "code")
_ADDRESSES = {"from", "to", "address", "refundAddress", "author"}
_QUANTITIES = {"gas", "gasUsed", "value", "balance", "index", "position"}
_BYTES = {"input", "output", "data", "init", "code"}


def _hex_quantity(value: Any) -> str | None:
    number = quantity(value)
    return None if number is None else hex(number)


def _hex_bytes(value: Any) -> str:
    data = hex_to_bytes(value)
    return "0x" + data.hex() if data is not None else str(value)


def _field(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _ADDRESSES:
        return str(value).lower()
    if name in _QUANTITIES:
        return _hex_quantity(value) if quantity(value) is not None else value
    if name in _BYTES:
        return _hex_bytes(value)
    if name == "topics":
        return [str(topic).lower() for topic in value]
    return value


def canonical_call_frame(frame: dict[str, Any]) -> dict[str, Any]:
    """A callTracer frame as geth's frame schema writes it back out.

    Required schema fields (from, gas, gasUsed, input, type) get their zero value when missing;
    the others are omitted when absent or empty, as Go's `omitempty` does.
    """
    out: dict[str, Any] = {}
    for name in _FRAME_FIELDS:
        value = frame.get(name)
        if name == "calls":
            if value:
                out[name] = [canonical_call_frame(child) for child in value]
        elif name == "logs":
            if value:
                out[name] = [_canonical_log(log) for log in value]
        elif name in ("from",):
            out[name] = _field(name, value) or "0x" + "00" * 20
        elif name in ("gas", "gasUsed"):
            out[name] = _field(name, value) or "0x0"
        elif name == "input":
            out[name] = _field(name, value) if value is not None else "0x"
        elif name == "type":
            out[name] = str(value or "").upper()
        elif name in ("output",):
            data = _field(name, value)
            if data not in (None, "0x"):
                out[name] = data
        elif value not in (None, ""):
            out[name] = _field(name, value)
    return out


def _canonical_log(log: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": _field("address", log.get("address")) or "0x" + "00" * 20,
        "topics": _field("topics", log.get("topics") or []),
        "data": _field("data", log.get("data")) if log.get("data") is not None else "0x",
        "index": _field("index", log.get("index")) or "0x0",
        "position": _field("position", log.get("position")) or "0x0",
    }


_ZERO_ADDRESS = "0x" + "00" * 20


def _zero(value: Any) -> bool:
    # geth's flat schema holds addresses as fixed 20-byte values: the zero address is its zero.
    return value in (None, "", "0x", "0x0", 0, [], {}, _ZERO_ADDRESS)


def canonical_flat_frame(frame: dict[str, Any]) -> dict[str, Any]:
    """A flatCallTracer frame as geth's typed flat schema round-trips it.

    blockHash, blockNumber, transactionHash and transactionPosition are dropped (geth's runner
    leaves the tracer context empty); zero and empty values equal absent ones, so they are dropped.
    """
    out: dict[str, Any] = {}
    if frame.get("type"):
        out["type"] = frame["type"]
    for section, names in (("action", _FLAT_ACTION), ("result", _FLAT_RESULT)):
        values = frame.get(section) or {}
        canonical = {
            name: _field(name, values.get(name))
            for name in names
            if not _zero(_field(name, values.get(name)))
        }
        if canonical:
            out[section] = canonical
    if frame.get("error"):
        out["error"] = frame["error"]
    if frame.get("subtraces"):
        out["subtraces"] = int(frame["subtraces"])
    if frame.get("traceAddress"):
        out["traceAddress"] = [int(step) for step in frame["traceAddress"]]
    return out


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every leaf where `actual` differs from `expected`, as "path: expected X, got Y"."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in sorted(set(expected) | set(actual), key=_key_order(expected, actual)):
            child = f"{path}.{key}" if path else str(key)
            if key not in actual:
                found.append(f"{child}: expected {_show(expected[key])}, got {ABSENT}")
            elif key not in expected:
                found.append(f"{child}: expected {ABSENT}, got {_show(actual[key])}")
            else:
                found += differences(expected[key], actual[key], child)
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        found = []
        if len(expected) != len(actual):
            found.append(f"{path or '(root)'}: expected {len(expected)} entries, got {len(actual)}")
        for index in range(max(len(expected), len(actual))):
            child = f"{path}[{index}]"
            if index >= len(actual):
                found.append(f"{child}: expected {_show(expected[index])}, got {ABSENT}")
            elif index >= len(expected):
                found.append(f"{child}: expected {ABSENT}, got {_show(actual[index])}")
            else:
                found += differences(expected[index], actual[index], child)
        return found
    if expected != actual or type(expected) is not type(actual):
        return [f"{path or '(root)'}: expected {_show(expected)}, got {_show(actual)}"]
    return []


def _key_order(expected: dict[str, Any], actual: dict[str, Any]) -> Any:
    """Keys in the order they first appear (expected's first), so messages follow the schema."""
    order: dict[str, int] = {}
    for key in [*expected, *actual]:
        order.setdefault(key, len(order))
    return order.__getitem__


def _show(value: Any) -> str:
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{key}: {_show(item)}" for key, item in value.items()) + "}"
    elif isinstance(value, list):
        text = "[" + ", ".join(_show(item) for item in value) + "]"
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value) if not isinstance(value, int) else str(value)
    if len(text) > _MAX_SHOWN:
        text = f"{text[: _MAX_SHOWN - 12]}…({len(text)} chars)"
    return text
