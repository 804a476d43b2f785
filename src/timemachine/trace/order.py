"""Emission order inside a CallFrame: how a frame's logs interleave with its child calls.

The exact order comes from a log's callTracer `position` (child calls made before it) when the
model carries it. Otherwise it is inferred from log indexes: a child call comes after the parent's
logs whose index is below the lowest index in the child's subtree, and a child without any indexed
log follows the previous item immediately. A frame whose own logs carry no index (a reverted frame)
lists its logs first, then its calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from timemachine.models import CallFrame, LogEntry

Item = LogEntry | CallFrame
Node = TypeVar("Node")


def post_order(root: Node, children: Callable[[Node], Iterable[Node]]) -> Iterator[Node]:
    """Every node of the tree under `root`, each after all of its children (no recursion, so
    call trees thousands of frames deep are fine)."""
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            yield node
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in children(node))


def _position(log: LogEntry) -> int | None:
    # LogEntry.position is a proposed model field; read it defensively until it exists.
    value = getattr(log, "position", None)
    return value if isinstance(value, int) else None


class EmissionOrder:
    """Precomputes, once per tree, what is needed to interleave each frame's logs and calls."""

    def __init__(self, root: CallFrame) -> None:
        self._first_index: dict[int, int | None] = {}
        for frame in post_order(root, lambda frame: frame.calls):
            indexes = [log.index for log in frame.logs if log.index is not None]
            indexes += [
                first
                for child in frame.calls
                if (first := self._first_index[id(child)]) is not None
            ]
            self._first_index[id(frame)] = min(indexes) if indexes else None

    def first_index(self, frame: CallFrame) -> int | None:
        """The lowest log index in the frame's subtree (None when it has no indexed log)."""
        return self._first_index.get(id(frame))

    def items(self, frame: CallFrame) -> list[Item]:
        """The frame's logs and child calls in emission order."""
        if frame.logs and all(_position(log) is not None for log in frame.logs):
            return self._by_position(frame)
        if not any(log.index is not None for log in frame.logs):
            return [*frame.logs, *frame.calls]
        items: list[Item] = []
        logs = list(frame.logs)
        cursor = 0
        for child in frame.calls:
            first = self.first_index(child)
            if first is not None:
                while cursor < len(logs) and _before(logs[cursor], first):
                    items.append(logs[cursor])
                    cursor += 1
            items.append(child)
        items.extend(logs[cursor:])
        return items

    @staticmethod
    def _by_position(frame: CallFrame) -> list[Item]:
        items: list[Item] = []
        logs = sorted(frame.logs, key=lambda log: _position(log) or 0)
        cursor = 0
        for number, child in enumerate(frame.calls):
            while cursor < len(logs) and (_position(logs[cursor]) or 0) <= number:
                items.append(logs[cursor])
                cursor += 1
            items.append(child)
        items.extend(logs[cursor:])
        return items


def _before(log: LogEntry, first_child_index: int) -> bool:
    return log.index is None or log.index < first_child_index
