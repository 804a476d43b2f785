"""Interleaving a frame's logs with its child calls (EmissionOrder)."""

from __future__ import annotations

from timemachine.models import CallFrame, LogEntry
from timemachine.trace.order import EmissionOrder

A = "0x0000000000000000000000000000000000000001"
B = "0x0000000000000000000000000000000000000002"


class PositionedLog(LogEntry):
    """LogEntry with the proposed `position` field (callTracer semantics)."""

    position: int | None = None


def log(index: int | None, position: int | None = None) -> LogEntry:
    if position is None:
        return LogEntry(address=A, topics=[], data="0x", index=index)
    return PositionedLog(address=A, topics=[], data="0x", index=index, position=position)


def call(*logs: LogEntry, calls: list[CallFrame] | None = None) -> CallFrame:
    return CallFrame.model_validate(
        {"type": "CALL", "from": A, "to": B, "logs": list(logs), "calls": calls or []}
    )


def shape(items: list[LogEntry | CallFrame]) -> list[str]:
    return [f"log{item.index}" if isinstance(item, LogEntry) else "call" for item in items]


def test_positions_are_exact_when_present() -> None:
    # Reverted logs have no index; only positions can place them.
    frame = call(log(None, 0), log(None, 2), calls=[call(), call(), call()])
    assert shape(EmissionOrder(frame).items(frame)) == [
        "logNone",
        "call",
        "call",
        "logNone",
        "call",
    ]


def test_indexes_place_logs_around_children_with_logs() -> None:
    frame = call(log(0), log(3), log(5), calls=[call(log(1), log(2)), call(log(4))])
    assert shape(EmissionOrder(frame).items(frame)) == [
        "log0",
        "call",
        "log3",
        "call",
        "log5",
    ]


def test_children_without_indexed_logs_follow_the_previous_item() -> None:
    frame = call(log(0), log(2), calls=[call(), call(log(1)), call()])
    assert shape(EmissionOrder(frame).items(frame)) == ["call", "log0", "call", "call", "log2"]


def test_frames_without_indexes_list_logs_first() -> None:
    frame = call(log(None), calls=[call(log(None))])
    assert shape(EmissionOrder(frame).items(frame)) == ["logNone", "call"]
    assert EmissionOrder(frame).first_index(frame) is None
