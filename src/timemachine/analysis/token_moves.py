"""ERC-20 movements in execution order, for detectors that reason about when tokens moved
relative to the calls around them (flash loans, accounting invariants)."""

from __future__ import annotations

from dataclasses import dataclass

from timemachine.analysis.evidence import lower, path_text
from timemachine.models.trace import CallFrame, LogEntry
from timemachine.trace.signatures import keccak_signature

TRANSFER_TOPIC = keccak_signature("Transfer(address,address,uint256)")


@dataclass(frozen=True)
class Move:
    """One ERC-20 `Transfer` event: `step` is its position in execution order (see `steps`)."""

    step: int
    token: str
    source: str
    target: str
    amount: int
    frame: str
    """Path of the frame that emitted the event (the token's frame)."""


def erc20_transfer(log: LogEntry) -> tuple[str, str, int] | None:
    """(from, to, amount) of an ERC-20 `Transfer` log (not ERC-721: its id is the 4th topic)."""
    if len(log.topics) == 4:
        return None
    event = log.event
    if event is not None:
        if event.name != "Transfer" or len(event.args) != 3:
            return None
        source, target, amount = (argument.value for argument in event.args)
        if not isinstance(amount, int) or isinstance(amount, bool):
            return None
        return lower(str(source)), lower(str(target)), amount
    if len(log.topics) == 3 and log.topics[0].lower() == TRANSFER_TOPIC:
        try:
            amount = int(log.data, 16) if len(log.data) == 66 else None
        except ValueError:
            return None
        if amount is None:
            return None
        return "0x" + log.topics[1][-40:].lower(), "0x" + log.topics[2][-40:].lower(), amount
    return None


@dataclass(frozen=True)
class Steps:
    """The successful part of a call tree in execution order: each frame's entry and each log.

    `frames` maps a frame path to (entry step, end step): the steps of its subtree are the
    half-open range [entry, end). `moves` are the ERC-20 transfers, in order.
    """

    frames: dict[tuple[int, ...], tuple[int, int]]
    moves: list[Move]


def steps(root: CallFrame) -> Steps:
    """Number frame entries and logs in execution order. A log goes before the child calls its
    frame had not yet made (`position`); logs without a position go after all children.
    Reverted frames (and their subtrees) are skipped. Iterative (deep trees)."""
    frames: dict[tuple[int, ...], tuple[int, int]] = {}
    moves: list[Move] = []
    counter = 0
    Work = tuple[str, tuple[int, ...], CallFrame | LogEntry]
    stack: list[Work] = [("frame", (), root)]
    while stack:
        kind, path, item = stack.pop()
        if kind == "end":
            start, _ = frames[path]
            frames[path] = (start, counter)
            continue
        if isinstance(item, LogEntry):
            transfer = erc20_transfer(item)
            if transfer is not None:
                source, target, amount = transfer
                moves.append(
                    Move(counter, lower(item.address), source, target, amount, path_text(path))
                )
            counter += 1
            continue
        frame = item
        if frame.error is not None:
            continue
        frames[path] = (counter, counter)
        counter += 1
        ordered: list[Work] = []
        for index, child in enumerate(frame.calls):
            ordered += [("log", path, log) for log in frame.logs if log.position == index]
            ordered.append(("frame", (*path, index), child))
        ordered += [
            ("log", path, log)
            for log in frame.logs
            if log.position is None or log.position >= len(frame.calls)
        ]
        ordered.append(("end", path, frame))
        stack.extend(reversed(ordered))
    return Steps(frames=frames, moves=moves)
