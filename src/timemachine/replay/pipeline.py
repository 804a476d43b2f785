"""The one replay pipeline: execute blocks on a fork, trace the chosen transactions, judge each
against what it should have done, and build its `ReplayResult`.

Every replay path goes through `run_on_fork`: exact and quick replays, sequences, raw
transactions, what-ifs, capsules, batches and geth's conformance fixtures. What differs between
them is only what they put in: where the fork starts (`ForkSpec`), the blocks (`BlockRun`: the
environment, setup calls, submissions) and, once a block is mined, which of its transactions are
judged against what (`Target`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from timemachine.chain.blocks import quantity
from timemachine.chain.registry import ChainInfo
from timemachine.errors import TimeMachineError
from timemachine.forks.quirks import engine_divergences
from timemachine.models import (
    BlockEnv,
    Difference,
    Fidelity,
    ReceiptSummary,
    ReplayMode,
    ReplayResult,
    TransactionInfo,
)
from timemachine.ports import Call, ExecutedBlock, ForkBackend, ForkSpec, LiveFork
from timemachine.replay.backends import backend_reason
from timemachine.replay.fidelity import compare_receipts
from timemachine.replay.stopwatch import Stopwatch
from timemachine.replay.tracing import TracedTx, trace_transaction
from timemachine.trace.decoder import Decoder

ForkHook = Callable[[LiveFork], Awaitable[None]]
BlockHook = Callable[[LiveFork, ExecutedBlock], Awaitable[None]]
Check = Callable[[TracedTx], list[Difference] | None]
"""Differences beyond the receipt's (a trace comparison), or None when nothing was compared."""


@dataclass(frozen=True)
class Target:
    """One mined transaction to trace and judge."""

    position: int
    """Its place among the block's submissions."""
    info: TransactionInfo
    index: int
    """Its index in the original block."""
    preceding: int
    """How many transactions ran before it in the replayed block."""
    original: ReceiptSummary | None
    """What it should have done (None: never mined, the verdict is `unverified`)."""
    mode: ReplayMode
    notes: list[str]
    balances_final: bool = True
    """It is the last transaction of its block: state read at the block is the state after it."""
    env: BlockEnv | None = None
    """The block environment reported (default: the one the block was run with)."""
    check: Check | None = None
    on_failure: Callable[[str], None] | None = None
    """Set: a rejected transaction or a failed trace is reported here instead of raised."""


Targets = Callable[[LiveFork, ExecutedBlock], Awaitable[list[Target]]]


@dataclass(frozen=True)
class BlockRun:
    """One block to mine on the fork: exactly `submissions`, in order, after `setup`."""

    env: BlockEnv
    setup: Sequence[Call]
    submissions: Sequence[Call] | Callable[[], Sequence[Call]]
    """The calls, or what makes them once `prepare` ran (it may fill in transaction fields)."""
    targets: Targets
    """The transactions to judge, once the block is mined."""
    what: str = "the transaction"
    """How an engine refusal of the last submission names it."""


@dataclass
class RunFacts:
    """What every result of a run shares: the chain, its rules, the clock, the RPC count."""

    chain_id: int
    chain: ChainInfo
    hardfork: str
    decoder: Decoder
    clock: Stopwatch = field(default_factory=Stopwatch)
    rpc_requests: Callable[[], int] = lambda: 0
    backend_reason: str | None = None
    """Why the fork runs on its engine (set by `run_on_fork`; the verdict quotes it)."""


async def start_fork(
    backend: ForkBackend, spec: ForkSpec, clock: Stopwatch | None = None
) -> LiveFork:
    """A fork of `backend` at `spec`, timed as the "fork" stage."""
    with (clock or Stopwatch()).stage("fork"):
        return await backend.acquire(spec)


async def abandon(backend: ForkBackend, starting: asyncio.Future[LiveFork]) -> None:
    """Give back a fork whose replay failed before it was used (or stop its start)."""
    if not starting.done():
        starting.cancel()
    try:
        fork = await starting
    except BaseException:  # noqa: BLE001 - cancelled or failed: nothing to give back
        return
    await backend.release(fork)


async def run_on_fork(
    backend: ForkBackend,
    fork: LiveFork,
    blocks: Sequence[BlockRun],
    facts: RunFacts | None,
    *,
    keep_warm: bool = True,
    prepare: ForkHook | None = None,
    on_executed: BlockHook | None = None,
) -> list[ReplayResult]:
    """Run `blocks` in order on `fork` (acquired from `backend`, released here on every path)
    and return the result of every target, in order.

    `prepare` runs before the first block (what-if modifications); `on_executed` sees the fork
    right after each block was mined, before anything is traced (capsule capture, conformance
    tracers). `facts` may be None only when no block has targets."""
    results: list[ReplayResult] = []
    clock = facts.clock if facts is not None else Stopwatch()
    if facts is not None:
        facts.backend_reason = backend_reason(backend, fork)
    try:
        for block in blocks:
            with clock.stage("execute"):
                if prepare is not None and block is blocks[0]:
                    await prepare(fork)
                submissions = block.submissions
                if callable(submissions):
                    submissions = submissions()
                executed = await fork.execute(block.env, block.setup, submissions, what=block.what)
                if on_executed is not None:
                    await on_executed(fork, executed)
                targets = await block.targets(fork, executed)
            for target in targets:
                if facts is None:
                    raise TypeError("judging a transaction needs the run's facts")
                result = await judge(fork, executed, block.env, target, facts)
                if result is not None:
                    results.append(result)
    finally:
        await backend.release(fork, keep_warm=keep_warm)
    return results


async def judge(
    fork: LiveFork, executed: ExecutedBlock, env: BlockEnv, target: Target, facts: RunFacts
) -> ReplayResult | None:
    """Trace one mined transaction and judge it; None when its failure went to `on_failure`."""
    receipt = executed.receipts[target.position]
    if not receipt and target.on_failure is not None:
        target.on_failure("the engine rejected the transaction")
        return None
    try:
        with facts.clock.stage("trace"):
            traced = await trace_transaction(
                fork,
                facts.decoder,
                chain=facts.chain,
                replay_hash=executed.hashes[target.position],
                receipt=receipt,
                tx_gas=target.info.gas,
                block_tag=hex(quantity(executed.block["number"])),
                balances_final=target.balances_final,
            )
    except TimeMachineError as error:
        if target.on_failure is None:
            raise
        target.on_failure(str(error))
        return None
    notes = target.notes
    if fork.backend != "anvil":
        notes = [*notes, f"executed on {fork.backend}"]
    if target.original is None:
        fidelity = Fidelity(verdict="unverified", notes=notes)
    else:
        extra = target.check(traced) if target.check is not None else None
        fidelity = compare_receipts(target.original, traced.receipt, notes, extra)
    fidelity = fidelity.model_copy(
        update={"backend": fork.backend, "backend_reason": facts.backend_reason}
    )
    return replay_result(target, facts, target.env or env, fidelity, traced)


def replay_result(
    target: Target, facts: RunFacts, env: BlockEnv, fidelity: Fidelity, traced: TracedTx
) -> ReplayResult:
    """The ReplayResult of a judged target; a divergence on anvil gets its known caveats."""
    if fidelity.verdict == "diverged" and fidelity.backend in (None, "anvil"):
        known = engine_divergences(facts.hardfork)
        caveats = [note for note in known if note not in fidelity.notes]
        fidelity = fidelity.model_copy(update={"notes": [*fidelity.notes, *caveats]})
    info = target.info
    return ReplayResult(
        tx_hash=info.hash,
        chain_id=facts.chain_id,
        chain=facts.chain.name,
        block_number=env.number,
        tx_index=target.index,
        hardfork=facts.hardfork,
        mode=target.mode,
        sender=info.sender,
        to=info.to,
        block_env=env,
        preceding_txs_replayed=target.preceding,
        original=target.original,
        replayed=traced.receipt,
        fidelity=fidelity,
        trace=traced.trace,
        state_diff=traced.state_diff,
        token_transfers=traced.transfers,
        balance_changes=traced.balance_changes,
        token_prices=traced.prices,
        timings=facts.clock.result(),
        rpc_requests=facts.rpc_requests(),
    )
