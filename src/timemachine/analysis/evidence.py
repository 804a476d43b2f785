"""What the detectors read from a replay: frame contexts and paths, balances, severity."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import TypeVar

from timemachine.models.analysis import Severity
from timemachine.models.replay import ReplayResult
from timemachine.models.trace import CallFrame
from timemachine.trace.naming import Naming

#: Precompiles 0x01..0x11 (ecrecover .. BLS12-381) and the P256 precompile (0x100).
_PRECOMPILES = frozenset(
    [f"0x{index:040x}" for index in range(1, 0x12)] + ["0x0000000000000000000000000000000000000100"]
)
ECRECOVER = "0x0000000000000000000000000000000000000001"
T = TypeVar("T")
Question = Callable[[ReplayResult], list[T]]
"""Something a detector asks about a replayed transaction."""


_NAMING: ContextVar[Naming] = ContextVar("naming", default=Naming())  # noqa: B039 (read only)


@contextlib.contextmanager
def naming_scope(naming: Naming) -> Iterator[None]:
    """Findings written inside name tokens with `naming` (the symbols the replay read)."""
    token = _NAMING.set(naming)
    try:
        yield
    finally:
        _NAMING.reset(token)


def naming_of(result: ReplayResult, labels: Mapping[str, str] | None = None) -> Naming:
    """The names of one replay: bundled, read on the fork, then `labels` (devnet, user)."""
    return Naming.of(
        result.chain_id,
        transfers=result.token_transfers,
        balance_changes=result.balance_changes,
        labels=labels,
    )


def amount_text(asset: str, amount: int) -> str:
    """'20 ETH', '35,000 USDX'; base units with the token address only when nothing is known."""
    return _NAMING.get().amount(asset, amount)


def amounts_text(amounts: Mapping[str, int]) -> str:
    """Several amounts (asset -> amount), comma-separated, as `amount_text` writes each."""
    return ", ".join(amount_text(asset, amount) for asset, amount in amounts.items())


def lower(address: str | None) -> str:
    """Addresses compare lower-cased."""
    return (address or "").lower()


def is_precompile(address: str | None) -> bool:
    return lower(address) in _PRECOMPILES


def path_text(path: tuple[int, ...]) -> str:
    """`calls[1].calls[0]`; `root` for the top-level frame."""
    return ".".join(f"calls[{index}]" for index in path) or "root"


def context_of(frame: CallFrame) -> str:
    """The account whose storage and balance the frame runs on (the caller's, for delegatecall)."""
    if frame.type in ("DELEGATECALL", "CALLCODE"):
        return lower(frame.from_)
    return lower(frame.to)


@dataclass(frozen=True)
class Visit:
    """A frame, its path, and the frames enclosing it (outermost first)."""

    path: tuple[int, ...]
    frame: CallFrame
    ancestors: tuple[tuple[tuple[int, ...], CallFrame], ...]

    @property
    def static(self) -> bool:
        """Whether the frame runs in a static (read-only) context."""
        return self.frame.type == "STATICCALL" or any(
            ancestor.type == "STATICCALL" for _, ancestor in self.ancestors
        )


def visits(root: CallFrame) -> Iterator[Visit]:
    """Every frame depth-first in execution order, with its ancestors. Iterative (deep trees)."""
    stack: list[Visit] = [Visit((), root, ())]
    while stack:
        visit = stack.pop()
        yield visit
        chain = (*visit.ancestors, (visit.path, visit.frame))
        for index in range(len(visit.frame.calls) - 1, -1, -1):
            stack.append(Visit((*visit.path, index), visit.frame.calls[index], chain))


def succeeded(frame: CallFrame) -> bool:
    return frame.error is None


def deltas(result: ReplayResult) -> dict[str, dict[str, int]]:
    """Net balance change per lower-cased address, per asset ("ETH" or lower-cased token)."""
    table: dict[str, dict[str, int]] = {}
    for change in result.balance_changes:
        asset = "ETH" if change.asset == "ETH" else lower(change.asset)
        per_asset = table.setdefault(lower(change.address), {})
        per_asset[asset] = per_asset.get(asset, 0) + change.delta
    return table


def balance_before(result: ReplayResult, address: str, asset: str) -> int | None:
    """`address`'s balance of `asset` before the transaction, when the replay knows it."""
    for change in result.balance_changes:
        same_asset = change.asset == asset or lower(change.asset) == lower(asset)
        if lower(change.address) == lower(address) and same_asset and change.before is not None:
            return change.before
    if asset == "ETH":
        for account, state in result.state_diff.pre.items():
            if lower(account) == lower(address) and state.balance is not None:
                return state.balance
    return None


def losses_of(result: ReplayResult, address: str) -> dict[str, int]:
    """What `address` lost over the transaction, per asset (positive amounts only)."""
    return {
        asset: -delta
        for asset, delta in deltas(result).get(lower(address), {}).items()
        if delta < 0
    }


def severity_for_loss(result: ReplayResult, address: str) -> Severity:
    """Severity from the value `address` lost relative to what it held before.

    Nearly all of it (>= 90%) is critical, a large part (>= 30%) high, any loss medium, none low.
    """
    fractions: list[float] = []
    for asset, lost in losses_of(result, address).items():
        held = balance_before(result, address, asset)
        fractions.append(1.0 if not held else min(1.0, lost / held))
    if not fractions:
        return "low"
    worst = max(fractions)
    if worst >= 0.9:
        return "critical"
    if worst >= 0.3:
        return "high"
    return "medium"


def confidence_from(signals: int, *, base: float = 0.35, step: float = 0.15) -> float:
    """Confidence grows with the number of independent signals that agree, capped at 0.95."""
    return round(min(0.95, base + step * signals), 2)


def outflows_from(frame: CallFrame, address: str) -> list[tuple[tuple[int, ...], CallFrame]]:
    """Successful value-carrying calls by `address` in `frame`'s subtree, with relative paths."""
    found: list[tuple[tuple[int, ...], CallFrame]] = []
    for visit in visits(frame):
        inner = visit.frame
        moves_value = inner.value > 0 and inner.type not in ("DELEGATECALL", "STATICCALL")
        if moves_value and lower(inner.from_) == address and succeeded(inner):
            found.append((visit.path, inner))
    return found


def token_outflows(frame: CallFrame, address: str) -> list[tuple[str, str, int]]:
    """ERC-20 `Transfer` logs in `frame`'s subtree moving tokens out of `address`:
    (token, recipient, amount)."""
    moved: list[tuple[str, str, int]] = []
    for log in frame.all_logs():
        event = log.event
        if event is None or event.name != "Transfer" or len(event.args) != 3:
            continue
        source, target, amount = (argument.value for argument in event.args)
        if isinstance(amount, int) and lower(str(source)) == address:
            moved.append((lower(log.address), lower(str(target)), amount))
    return moved


def views_read(result: ReplayResult, contract: str) -> set[str]:
    """Addresses `contract` STATICCALLed in the tx: dependencies it reads (an oracle, a feed),
    as opposed to an owner, which a contract checks against msg.sender but never calls for data."""
    return {
        lower(visit.frame.to)
        for visit in visits(result.trace)
        if visit.frame.type == "STATICCALL"
        and visit.ancestors
        and context_of(visit.ancestors[-1][1]) == contract
    }


def per_last_result(
    compute: Callable[[ReplayResult], list[T]],
) -> Callable[[ReplayResult], list[T]]:
    """`compute`, remembered for the last result asked about: detectors run in turn over one
    result and several ask the same question."""
    last: list[tuple[ReplayResult, list[T]]] = []

    @wraps(compute)
    def remembered(result: ReplayResult) -> list[T]:
        entry = last[0] if last else None  # read once: another thread may replace it meanwhile
        if entry is None or entry[0] is not result:
            entry = (result, compute(result))
            last[:] = [entry]
        return list(entry[1])

    return remembered
