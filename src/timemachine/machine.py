"""The curated Python API: a warm, reusable TimeMachine, and one-shot helpers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from timemachine import __version__
from timemachine.chain.gateway import StateGateway
from timemachine.chain.rpc import RpcClient
from timemachine.errors import InvalidInputError, ReplayError
from timemachine.forks.manager import EXPLORE_ARGS, Fork, ForkManager, ForkSpec
from timemachine.lifecycle import AsyncCloseable
from timemachine.models import ReplayMode, ReplayResult
from timemachine.models.analysis import AnalysisReport
from timemachine.models.capsule import Capsule
from timemachine.replay.block import ExecutedBlock
from timemachine.replay.capsule import build_capsule, capture_accounts
from timemachine.replay.capsule import replay_capsule as replay_capsule_on
from timemachine.replay.capsule_io import read_capsule
from timemachine.replay.engine import ReplayEngine
from timemachine.replay.source import OriginalTx
from timemachine.settings import Settings, get_settings
from timemachine.trace.decoder import Decoder


def default_decoder() -> Decoder:
    """A decoder knowing the bundled signature table and every bundled contract's ABI."""
    from timemachine.catalog.artifacts import bundled_abis

    decoder = Decoder()
    for abi in bundled_abis():
        decoder.register_abi(abi)
    return decoder


def resolve_rpc_url(rpc_url: str | None, settings: Settings) -> str:
    url = rpc_url or settings.web3_rpc_url
    if not url:
        raise InvalidInputError("no RPC URL: pass --rpc-url or set WEB3_RPC_URL")
    return url


class TimeMachine(AsyncCloseable):
    """Replays against one upstream, keeping anvil processes and connections warm between calls.

    >>> async with TimeMachine("http://127.0.0.1:8545") as tm:
    ...     result = await tm.replay("0x...")
    """

    def __init__(
        self,
        rpc_url: str | None = None,
        *,
        settings: Settings | None = None,
        forks: ForkManager | None = None,
        decoder: Decoder | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.upstream = RpcClient(
            resolve_rpc_url(rpc_url, self.settings),
            timeout=self.settings.rpc_timeout,
            retries=self.settings.rpc_retries,
            backoff=self.settings.rpc_backoff,
        )
        self._owns_forks = forks is None
        self.forks = forks or ForkManager(self.settings)
        self.gateway = StateGateway(self.upstream)
        self._engine = ReplayEngine(
            self.upstream,
            self.forks,
            decoder or default_decoder(),
            gateway=self.gateway,
            prefetch=self.settings.prefetch_state,
        )

    async def engine(self) -> ReplayEngine:
        """The replay engine, with the state gateway its forks fetch through listening."""
        if not self.gateway.url:
            await self.gateway.start()
        return self._engine

    async def aclose(self) -> None:
        """Stop the forks this instance started and close connections."""
        if self._owns_forks:
            await self.forks.shutdown()
        await self.gateway.stop()
        await self.upstream.aclose()

    async def replay(
        self, tx_hash: str, *, mode: ReplayMode = "exact", compare_trace: bool = False
    ) -> ReplayResult:
        """Replay one mined transaction (exact: after the block's earlier transactions).

        `compare_trace` also compares the upstream's own call trace frame by frame (debug API).
        """
        engine = await self.engine()
        return await engine.replay_transaction(tx_hash, mode=mode, compare_trace=compare_trace)

    async def analyze(self, tx_hash: str, *, mode: ReplayMode = "exact") -> AnalysisReport:
        """Replay one mined transaction and run every detector, profit and fund-flow analysis."""
        return (await self.analyze_replay(tx_hash, mode=mode))[1]

    async def analyze_replay(
        self, tx_hash: str, *, mode: ReplayMode = "exact"
    ) -> tuple[ReplayResult, AnalysisReport]:
        """`analyze`, also returning the replay it ran on (for renderers that need the trace)."""
        from timemachine.analysis import analyze as run_detectors

        result = await self.replay(tx_hash, mode=mode)
        return result, run_detectors(result)

    async def replay_many(self, tx_hashes: Sequence[str]) -> list[ReplayResult]:
        """Replay mined transactions in sequence on one fork, in chain order."""
        return await (await self.engine()).replay_many(tx_hashes)

    async def replay_raw(self, raw_tx: str, *, block_number: int | None = None) -> ReplayResult:
        """Run a raw signed transaction on top of a block (default latest)."""
        return await (await self.engine()).replay_raw(raw_tx, block_number=block_number)

    async def export_capsule(self, tx_hash: str) -> Capsule:
        """A capsule of `tx_hash` (and its block's earlier transactions), verified by replaying
        it offline before it is returned: a capsule that does not replay exactly is an error."""
        engine = await self.engine()
        captured: dict[str, Any] = {}

        async def capture(fork: Fork, original: OriginalTx, executed: ExecutedBlock) -> None:
            captured["accounts"] = await capture_accounts(fork, executed, original.block_number - 1)
            captured["transactions"] = [*original.preceding(), original.tx]

        result = await engine.replay_transaction(tx_hash, on_executed=capture)
        source = {"upstream": self.upstream.label, "tool": f"timemachine {__version__}"}
        capsule = build_capsule(result, captured["transactions"], captured["accounts"], source)
        check = await replay_capsule_on(capsule, self.forks, engine.decoder)
        if check.fidelity.verdict != "exact":
            first = check.fidelity.differences[0]
            raise ReplayError(
                f"the capsule of {tx_hash} does not replay exactly offline ({first.field}: "
                f"{first.explanation}); not exported"
            )
        return capsule

    @contextlib.asynccontextmanager
    async def fork(self, block_number: int | None = None) -> AsyncIterator[Fork]:
        """A live fork of the upstream at `block_number` (latest by default) to explore freely."""
        spec = ForkSpec(
            upstream=self.upstream.url, block_number=block_number, extra_args=EXPLORE_ARGS
        )
        async with self.forks.fork(spec, keep_warm=False) as live:
            yield live


async def replay_capsule_async(
    capsule: Capsule | Path, *, forks: ForkManager | None = None, decoder: Decoder | None = None
) -> ReplayResult:
    """Replay a capsule (or a capsule file) offline: no upstream, no network."""
    loaded = read_capsule(capsule) if isinstance(capsule, Path) else capsule
    manager = forks or ForkManager()
    try:
        return await replay_capsule_on(loaded, manager, decoder or default_decoder())
    finally:
        if forks is None:
            await manager.shutdown()


def replay_capsule(capsule: Capsule | Path) -> ReplayResult:
    """Synchronous `replay_capsule_async`."""
    return asyncio.run(replay_capsule_async(capsule))


def replay(tx_hash: str, rpc_url: str | None = None, *, mode: ReplayMode = "exact") -> ReplayResult:
    """One-shot, synchronous replay (starts and stops its own fork)."""

    async def run() -> ReplayResult:
        async with TimeMachine(rpc_url) as machine:
            return await machine.replay(tx_hash, mode=mode)

    return asyncio.run(run())


def analyze(tx_hash: str, rpc_url: str | None = None) -> AnalysisReport:
    """One-shot, synchronous replay and analysis (starts and stops its own fork)."""

    async def run() -> AnalysisReport:
        async with TimeMachine(rpc_url) as machine:
            return await machine.analyze(tx_hash)

    return asyncio.run(run())


@contextlib.asynccontextmanager
async def fork(rpc_url: str | None = None, block_number: int | None = None) -> AsyncIterator[Fork]:
    """`async with timemachine.fork(url, block) as f:` — a live anvil fork; `f.rpc` talks to it."""
    async with TimeMachine(rpc_url) as machine, machine.fork(block_number) as live:
        yield live
