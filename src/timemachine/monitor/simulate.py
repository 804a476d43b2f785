"""Pre-inclusion simulation: replay a pending transaction in the block after the current head on
a warm fork (`HeadForks`), through the replay pipeline (`replay.pipeline.run_on_fork`), then run
the detectors and the MEV inspectors on the result.

Bounded everywhere: a backlog of `capacity` candidates (`Backlog`, which tightens the filter
under load), `concurrency` forks, and a deadline per transaction."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from timemachine.analysis import analyze
from timemachine.chain.blocks import parse_block_env, parse_transaction
from timemachine.chain.registry import ChainInfo, get_chain
from timemachine.chain.rpc import RpcClient
from timemachine.errors import TimeMachineError
from timemachine.hexutil import quantity
from timemachine.mev.inspect import inspect_block
from timemachine.mev.sources import block_from_replays
from timemachine.models import BlockEnv, ReplayResult
from timemachine.monitor.backlog import Backlog
from timemachine.monitor.headforks import HeadForks
from timemachine.monitor.models import MevClassification, MonitoredTx, Simulation
from timemachine.monitor.prefilter import SimulationFilter
from timemachine.ports import ExecutedBlock, LiveFork
from timemachine.replay.block import impersonated
from timemachine.replay.engine import ReplayEngine
from timemachine.replay.pipeline import BlockRun, RunFacts, Target, run_on_fork, start_fork
from timemachine.replay.stopwatch import Stopwatch
from timemachine.trace.decoder import Decoder

LATENCY_WINDOW = 1000
"""Latest latencies kept for the percentiles."""


@dataclass(frozen=True)
class Head:
    """The head simulations run on top of: its environment, chain and rules."""

    env: BlockEnv
    chain_id: int
    chain: ChainInfo
    hardfork: str

    @classmethod
    def of(cls, block: dict[str, Any], chain_id: int, chain: ChainInfo, hardfork: str) -> Head:
        return cls(parse_block_env(block), chain_id, chain, hardfork)

    def next_env(self) -> BlockEnv:
        """The environment of the block a pending transaction would land in."""
        env = self.env
        return env.model_copy(
            update={
                "number": env.number + 1,
                "timestamp": env.timestamp + self.chain.block_time,
                "base_fee": None,
                "hash": None,
                "parent_hash": env.hash,
            }
        )


def classify_mev(result: ReplayResult) -> MevClassification:
    """What the MEV inspectors see in the simulated transaction alone."""
    found = inspect_block(block_from_replays([result]))
    return MevClassification(
        swaps=len(found.swaps),
        arbitrages=len(found.arbitrages),
        liquidations=len(found.liquidations),
        profit=[
            {"token": arb.profit_token_address, "amount": arb.profit_amount}
            for arb in found.arbitrages
        ],
    )


def outcome(result: ReplayResult, head: int, latency_ms: float) -> Simulation:
    receipt = result.replayed
    return Simulation(
        head=head,
        success=receipt.status == 1,
        revert_reason=result.trace.revert_reason or result.trace.error,
        gas_used=receipt.gas_used,
        balance_changes=result.balance_changes,
        token_transfers=result.token_transfers,
        findings=analyze(result).findings,
        mev=classify_mev(result),
        latency_ms=latency_ms,
    )


@dataclass
class SimulatorStats:
    simulated: int = 0
    failed: int = 0
    """Could not be simulated (engine refusal, an error of the fork)."""
    timed_out: int = 0
    skipped: int = 0
    """Settled (included, replaced, dropped) before their turn came."""


class Simulator:
    """Simulates the candidates that pass `filter`, `concurrency` at a time."""

    def __init__(
        self,
        forks: HeadForks,
        decoder: Decoder,
        *,
        filter: SimulationFilter,
        capacity: int = 256,
        deadline: float = 10.0,
    ) -> None:
        self.forks = forks
        self.decoder = decoder
        self.filter = filter
        self.backlog = Backlog(capacity)
        self.deadline = deadline
        self.on_simulated: Callable[[MonitoredTx], Awaitable[None]] | None = None
        """Told each outcome (the monitor sets it)."""
        self.head: Head | None = None
        self._has_head = asyncio.Event()
        self.stats = SimulatorStats()
        self.latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def set_head(self, head: Head) -> None:
        """Simulate on top of `head` from now on (forks at an older head are reset lazily)."""
        self.head = head
        self._has_head.set()

    def offer(self, record: MonitoredTx) -> bool:
        """Queue `record` when it passes the filter (and the backlog has room for it)."""
        return self.filter.passes(record) and self.backlog.offer(record)

    async def run(self) -> None:
        """The workers, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for _ in range(self.forks.size):
                group.create_task(self._work())

    def percentiles(self) -> dict[str, float | None]:
        if len(self.latencies) < 2:
            only = self.latencies[0] if self.latencies else None
            return {"p50": only, "p99": only}
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return {"p50": cuts[49], "p99": cuts[98]}

    async def _work(self) -> None:
        while True:
            record = await self.backlog.take()
            await self._has_head.wait()
            head = self.head
            if record.status != "pending" or head is None:
                self.stats.skipped += 1
                continue
            record.simulation = await self.outcome_of(record, head)
            if self.on_simulated is not None:
                await self.on_simulated(record)

    async def outcome_of(self, record: MonitoredTx, head: Head) -> Simulation:
        """`simulate` within the deadline; a failure (refusal, fork error, deadline) is an
        outcome too, counted in `stats`."""
        try:
            simulation = await asyncio.wait_for(self.simulate(record, head), self.deadline)
        except TimeoutError:
            self.stats.timed_out += 1
            return self._failure(record, head, f"over the {self.deadline:g} s deadline")
        except TimeMachineError as error:
            self.stats.failed += 1
            return self._failure(record, head, error.message)
        except (ValueError, KeyError, TypeError) as error:  # an engine answer we cannot read
            self.stats.failed += 1
            return self._failure(record, head, f"unreadable engine output: {error!r}")
        self.stats.simulated += 1
        self.latencies.append(simulation.latency_ms)
        return simulation

    @staticmethod
    def _failure(record: MonitoredTx, head: Head, why: str) -> Simulation:
        latency = (time.time() - record.seen_at) * 1000
        return Simulation(head=head.env.number, success=False, error=why, latency_ms=latency)

    async def simulate(self, record: MonitoredTx, head: Head) -> Simulation:
        """Replay `record` in the block after `head` on a warm fork; its outcome."""
        tx = record.tx
        setup, submissions = impersonated([tx.rpc_object()])
        facts = RunFacts(head.chain_id, head.chain, head.hardfork, self.decoder, Stopwatch())
        rejected: list[str] = []

        async def targets(fork: LiveFork, executed: ExecutedBlock) -> list[Target]:
            mined = await fork.rpc.call("eth_getTransactionByHash", [executed.hashes[0]])
            return [
                Target(
                    position=0,
                    info=parse_transaction(mined),
                    index=0,
                    preceding=0,
                    original=None,
                    mode="quick",
                    notes=["pending: simulated on the head, not yet mined"],
                    env=parse_block_env(executed.block),
                    on_failure=rejected.append,
                )
            ]

        block = BlockRun(head.next_env(), setup, submissions, targets, what="the pending tx")
        fork = await start_fork(self.forks, self.forks.spec(head.env.number), facts.clock)
        try:
            results = await run_on_fork(self.forks, fork, [block], facts)
        except asyncio.CancelledError:
            self.forks.spoil(fork)
            raise
        if not results:
            raise SimulationError(rejected[0] if rejected else "the engine gave no result")
        result = results[0].model_copy(update={"tx_hash": tx.hash})
        return outcome(result, head.env.number, (time.time() - record.seen_at) * 1000)

    async def aclose(self) -> None:
        with contextlib.suppress(TimeMachineError):
            await self.forks.aclose()


class HeadSource:
    """The `Head` of a block of the chain behind `rpc` (its chain id and hardfork looked up
    once)."""

    def __init__(self, rpc: RpcClient, forks: HeadForks, decoder: Decoder) -> None:
        self.rpc = rpc
        self.forks = forks
        self.decoder = decoder
        self._chain_id: int | None = None
        self._hardfork: str | None = None

    async def head_of(self, block: dict[str, Any]) -> Head:
        if self._chain_id is None:
            self._chain_id = quantity(await self.rpc.call("eth_chainId")) or 0
        chain = get_chain(self._chain_id)
        if self._hardfork is None:
            engine = ReplayEngine(self.rpc, self.forks, self.decoder)
            self._hardfork = await engine.hardfork_at(chain, block)
        return Head.of(block, self._chain_id, chain, self._hardfork)


class SimulationError(TimeMachineError):
    """A pending transaction could not be simulated."""
