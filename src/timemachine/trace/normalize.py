"""Engine JSON (geth callTracer / prestateTracer shapes) into CallFrame, StateDiff, AccountState.

Everything is iterative, so call trees as deep as the EVM allows (1024) never hit Python's
recursion limit.

Log indexes: with receipt logs (the truth), each trace log gets the `logIndex` of the receipt log it
matches, walking the tree in emission order and matching (address, topics, data) in sequence;
without them, indexes count the transaction's surviving logs from 0. Logs of frames that reverted
(or whose ancestor reverted) never reach a receipt: they stay in the tree with index None.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from timemachine.hexutil import checksum, parse_int
from timemachine.models import AccountState, CallFrame, LogEntry, StateDiff
from timemachine.models.trace import CallType
from timemachine.trace.decoder import Decoder
from timemachine.trace.order import post_order

_CALL_TYPES: frozenset[str] = frozenset(get_args(CallType))
_CREATE_TYPES = frozenset({"CREATE", "CREATE2"})


def _optional_int(value: object) -> int | None:
    return None if value is None else parse_int(value)


def _hex(value: object, default: str = "0x") -> str:
    return value.lower() if isinstance(value, str) else default


def _word(value: object) -> str:
    """A storage slot or value as 0x + 64 lowercase hex digits (unreadable values kept as given)."""
    text = _hex(value)
    digits = text[2:] if text.startswith("0x") else text
    try:
        int(digits or "0", 16)
    except ValueError:
        return text
    return "0x" + digits.rjust(64, "0")


@dataclass(eq=False)
class _Node:
    raw: Mapping[str, Any]
    reverted: bool
    logs: list[tuple[LogEntry, int | None]] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)


def _log_entry(raw: Mapping[str, Any], decoder: Decoder) -> LogEntry:
    topics = [_hex(topic) for topic in raw.get("topics") or []]
    data = _hex(raw.get("data"))
    # `position` is passed through for a LogEntry.position field (callTracer semantics: child calls
    # made before the log); pydantic ignores it while the model has no such field.
    return LogEntry.model_validate(
        {
            "address": checksum(raw.get("address")),
            "topics": topics,
            "data": data,
            "position": _optional_int(raw.get("position")),
            "event": decoder.decode_event(topics, data),
        }
    )


def _emission_order(node: _Node) -> list[tuple[str, Any]]:
    """A frame's logs and child calls in the order they happened (callTracer `position`)."""
    positions = [position for _, position in node.logs]
    if any(position is None for position in positions):
        return [("log", entry) for entry, _ in node.logs] + [("call", c) for c in node.children]
    items: list[tuple[str, Any]] = []
    pending = sorted(node.logs, key=lambda pair: pair[1] or 0)
    for index, child in enumerate(node.children):
        while pending and (pending[0][1] or 0) <= index:
            items.append(("log", pending.pop(0)[0]))
        items.append(("call", child))
    items.extend(("log", entry) for entry, _ in pending)
    return items


def _walk_logs(root: _Node) -> Iterator[tuple[LogEntry, bool]]:
    """Every log of the tree in emission order, with whether its frame (or an ancestor) reverted."""
    stack: list[tuple[_Node, Iterator[tuple[str, Any]]]] = [(root, iter(_emission_order(root)))]
    while stack:
        node, items = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
        elif item[0] == "log":
            yield item[1], node.reverted
        else:
            stack.append((item[1], iter(_emission_order(item[1]))))


def _receipt_key(address: object, topics: Sequence[object], data: object) -> tuple[str, ...]:
    return (_hex(address), *(_hex(topic) for topic in topics), "|", _hex(data))


def _assign_indexes(root: _Node, receipt_logs: Sequence[Mapping[str, Any]] | None) -> None:
    surviving = [entry for entry, reverted in _walk_logs(root) if not reverted]
    if receipt_logs is None:
        for position, entry in enumerate(surviving):
            entry.index = position
        return
    receipt = sorted(
        (
            (
                parse_int(log.get("logIndex")),
                _receipt_key(log.get("address"), log.get("topics") or [], log.get("data")),
            )
            for log in receipt_logs
        ),
        key=lambda pair: pair[0],
    )
    cursor = 0
    for entry in surviving:
        key = _receipt_key(entry.address, entry.topics, entry.data)
        for offset in range(cursor, len(receipt)):
            if receipt[offset][1] == key:
                entry.index = receipt[offset][0]
                cursor = offset + 1
                break


def _frame(node: _Node, calls: list[CallFrame], decoder: Decoder) -> CallFrame:
    raw = node.raw
    type_ = str(raw.get("type", "CALL")).upper()
    if type_ not in _CALL_TYPES:
        type_ = "CALL"
    to = raw.get("to")
    error = raw.get("error") or None
    input_ = _hex(raw.get("input"))
    output = _hex(raw.get("output"), default="") or None
    revert_reason = None
    if error is not None:
        revert_reason = decoder.decode_revert(output) or raw.get("revertReason") or None
    decoded = None
    if type_ not in _CREATE_TYPES:
        decoded = decoder.decode_call(input_, output if error is None else None)
    return CallFrame.model_validate(
        {
            "type": type_,
            "from": checksum(raw.get("from")),
            "to": checksum(to) if to else None,
            "value": parse_int(raw.get("value")),
            "gas": parse_int(raw.get("gas")),
            "gas_used": parse_int(raw.get("gasUsed")),
            "input": input_,
            "output": output,
            "error": str(error) if error is not None else None,
            "revert_reason": revert_reason,
            "decoded": decoded,
            "logs": [entry for entry, _ in node.logs],
            "calls": calls,
        }
    )


def normalize_call_trace(
    raw: Mapping[str, Any],
    decoder: Decoder,
    receipt_logs: Sequence[Mapping[str, Any]] | None = None,
) -> CallFrame:
    """A callTracer result (hex quantities, `calls`, `logs` with `position`) as a CallFrame tree.

    `revert_reason` is the decoder's reading of a failed frame's output (Error(string), Panic,
    custom errors), else the engine's `revertReason`. Calls are decoded with their output only
    when they succeeded.
    """
    root = _Node(raw=raw, reverted=bool(raw.get("error")))
    stack = [root]
    while stack:
        node = stack.pop()
        for raw_log in node.raw.get("logs") or []:
            node.logs.append((_log_entry(raw_log, decoder), _optional_int(raw_log.get("position"))))
        for raw_child in node.raw.get("calls") or []:
            child = _Node(raw=raw_child, reverted=node.reverted or bool(raw_child.get("error")))
            node.children.append(child)
            stack.append(child)
    _assign_indexes(root, receipt_logs)
    return _build(root, decoder)


def _build(root: _Node, decoder: Decoder) -> CallFrame:
    """CallFrames bottom-up (post-order) without recursion."""
    built: dict[int, CallFrame] = {}
    for node in post_order(root, lambda node: node.children):
        calls = [built.pop(id(child)) for child in node.children]
        built[id(node)] = _frame(node, calls, decoder)
    return built[id(root)]


def _account(raw: Mapping[str, Any]) -> AccountState:
    code = raw.get("code")
    storage = raw.get("storage") or {}
    return AccountState(
        balance=_optional_int(raw.get("balance")),
        nonce=_optional_int(raw.get("nonce")),
        code=_hex(code) if code is not None else None,
        storage={_word(slot): _word(value) for slot, value in storage.items()},
    )


def normalize_prestate(raw: Mapping[str, Any]) -> dict[str, AccountState]:
    """prestateTracer (non-diff mode): every touched account as it was before the transaction."""
    return {checksum(address): _account(account or {}) for address, account in raw.items()}


def normalize_prestate_diff(raw: Mapping[str, Any]) -> StateDiff:
    """prestateTracer diffMode: `pre` (modified or deleted accounts before) and `post` (changes)."""
    return StateDiff(
        pre=normalize_prestate(raw.get("pre") or {}),
        post=normalize_prestate(raw.get("post") or {}),
    )
