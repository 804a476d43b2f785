"""Call frames as geth's callTracer (eth/tracers/native/call.go) writes them.

Plain data, filled by the tracing computation (tracing.py) and turned into geth's JSON here:
`value` on every frame but STATICCALL, `output` on success and on a revert with data,
`revertReason` from Error(string) or Panic(uint256) revert data, `to` dropped from a failed
CREATE/CREATE2, logs (withLog) with their tx-wide `index` and `position` (how many calls the frame
had made before the log), the logs of reverted frames and of their descendants removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError

REVERTED = "execution reverted"

_ERROR_SELECTOR = bytes.fromhex("08c379a0")
_PANIC_SELECTOR = bytes.fromhex("4e487b71")
# go-ethereum accounts/abi/abi.go panicReasons.
_PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


@dataclass
class Log:
    address: bytes
    topics: tuple[int, ...]
    data: bytes
    position: int
    order: int
    """Emission order within the transaction (py-evm's log counter)."""


@dataclass
class Frame:
    type: str
    sender: bytes
    to: bytes | None
    input: bytes
    gas: int
    value: int | None = None
    gas_used: int = 0
    output: bytes = b""
    error: str | None = None
    calls: list[Frame] = field(default_factory=list)
    logs: list[Log] = field(default_factory=list)


def revert_reason(output: bytes) -> str | None:
    """geth's abi.UnpackRevert: the message of Error(string), or Panic(uint256)'s meaning."""
    try:
        if output[:4] == _ERROR_SELECTOR:
            (message,) = decode(["bytes"], output[4:])
            return bytes(message).decode("utf-8", errors="replace")
        if output[:4] == _PANIC_SELECTOR:
            (code,) = decode(["uint256"], output[4:])
            return _PANIC_REASONS.get(code, f"unknown panic code: {code:#x}")
    except (DecodingError, ValueError, OverflowError):
        return None
    return None


def call_tracer_json(root: Frame, *, with_log: bool, only_top_call: bool) -> dict[str, Any]:
    """geth's callTracer result for the frame tree `root` (the transaction's frame)."""
    surviving: list[Log] = []
    if with_log:
        _collect_surviving_logs(root, surviving, only_top_call=only_top_call)
    index = {id(log): rank for rank, log in enumerate(sorted(surviving, key=lambda x: x.order))}
    return _frame_json(root, index, with_log=with_log, only_top_call=only_top_call)


def receipt_logs(root: Frame) -> list[dict[str, Any]]:
    """The logs a receipt holds: those of frames that did not fail, in emission order."""
    surviving: list[Log] = []
    _collect_surviving_logs(root, surviving, only_top_call=False)
    return [
        {
            "address": _hex(log.address),
            "topics": [_hex(topic.to_bytes(32, "big")) for topic in log.topics],
            "data": _hex(log.data),
            "logIndex": hex(rank),
        }
        for rank, log in enumerate(sorted(surviving, key=lambda x: x.order))
    ]


def _collect_surviving_logs(frame: Frame, out: list[Log], *, only_top_call: bool) -> None:
    if frame.error is not None:
        return
    out += frame.logs
    if not only_top_call:
        for child in frame.calls:
            _collect_surviving_logs(child, out, only_top_call=False)


def _frame_json(
    frame: Frame, index: dict[int, int], *, with_log: bool, only_top_call: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "from": _hex(frame.sender),
        "gas": hex(frame.gas),
        "gasUsed": hex(frame.gas_used),
    }
    if frame.to is not None and not (frame.error and frame.type in ("CREATE", "CREATE2")):
        out["to"] = _hex(frame.to)
    out["input"] = _hex(frame.input)
    if frame.error is None:
        if frame.output:
            out["output"] = _hex(frame.output)
    else:
        out["error"] = frame.error
        if frame.error == REVERTED and frame.output:
            out["output"] = _hex(frame.output)
            reason = revert_reason(frame.output)
            if reason is not None:
                out["revertReason"] = reason
    if not only_top_call:
        calls = [
            _frame_json(child, index, with_log=with_log, only_top_call=False)
            for child in frame.calls
        ]
        if calls:
            out["calls"] = calls
    logs = [log for log in frame.logs if id(log) in index]
    if with_log and logs:
        out["logs"] = [
            {
                "address": _hex(log.address),
                "topics": [_hex(topic.to_bytes(32, "big")) for topic in log.topics],
                "data": _hex(log.data),
                "index": hex(index[id(log)]),
                "position": hex(log.position),
            }
            for log in logs
        ]
    if frame.type != "STATICCALL":
        out["value"] = hex(frame.value or 0)
    out["type"] = frame.type
    return out


def _hex(data: bytes) -> str:
    return "0x" + data.hex()
