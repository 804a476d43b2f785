"""The curated Python API: a warm, reusable TimeMachine, and one-shot helpers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timemachine import __version__
from timemachine.chain.gateway import StateGateway
from timemachine.chain.metrics import observe_replay
from timemachine.chain.registry import configured_rpc_url
from timemachine.chain.rpc import RpcClient
from timemachine.errors import InvalidInputError, ReplayError
from timemachine.forks.manager import EXPLORE_ARGS, Fork, ForkManager, ForkSpec
from timemachine.lifecycle import AsyncCloseable
from timemachine.models import ReplayMode, ReplayResult
from timemachine.models.analysis import AnalysisReport
from timemachine.models.capsule import Capsule, CapsuleWhatIf
from timemachine.models.compare import Comparison
from timemachine.models.whatif import CodePatch, FixVerification, WhatIf
from timemachine.ports import BackendName, LiveFork
from timemachine.replay.block import ExecutedBlock
from timemachine.replay.capsule import (
    build_capsule,
    capture_accounts,
    outcome_of,
    state_edits,
    unmodified_accounts,
)
from timemachine.replay.capsule import replay_capsule as replay_capsule_on
from timemachine.replay.capsule_io import read_capsule
from timemachine.replay.engine import ReplayEngine
from timemachine.replay.source import OriginalTx
from timemachine.runtime import Runtime, build, default_decoder
from timemachine.settings import Settings
from timemachine.trace.decoder import Decoder

if TYPE_CHECKING:
    from timemachine.chain.tracker import BlockTracker

__all__ = ["TimeMachine", "analyze", "default_decoder", "fork", "replay", "replay_capsule"]


CAPSULE_EXPORT_NEEDS_ANVIL = (
    "capsule export reads the replayed fork over RPC (debug_traceCall, state at the block), "
    "which a py-evm fork does not serve"
)


def resolve_rpc_url(rpc_url: str | None, settings: Settings) -> str:
    """`--rpc-url` (one URL or a comma-separated provider list), else Ethereum's configured
    providers (ETHEREUM_RPC_URLS, WEB3_RPC_URL). `--rpc-url` reads WEB3_RPC_URL as its default:
    that value gets ETHEREUM_RPC_URLS joined to it."""
    url = rpc_url if rpc_url and rpc_url != settings.web3_rpc_url else None
    url = url or configured_rpc_url(1, settings)
    if not url:
        raise InvalidInputError(
            "no RPC URL: pass --rpc-url (URL or URL,URL,…) or set WEB3_RPC_URL / ETHEREUM_RPC_URLS"
        )
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
        runtime: Runtime | None = None,
        backend: BackendName = "auto",
        upstream: RpcClient | None = None,
    ) -> None:
        """`upstream`: a ready client to use instead of one built from `rpc_url` (e.g. the
        policy-guarded client of a user-supplied URL, `security.outbound.GuardedRpcClient`)."""
        self.runtime = runtime or build(settings, backend=backend, forks=forks, decoder=decoder)
        self.settings = self.runtime.settings
        self.upstream = upstream or self.runtime.upstream(resolve_rpc_url(rpc_url, self.settings))
        self._owns_forks = runtime is None and forks is None
        self.forks = self.runtime.forks
        self.gateway = StateGateway(self.upstream)
        self._engine = self.runtime.replay_engine(self.upstream, self.gateway)

    async def engine(self) -> ReplayEngine:
        """The replay engine, with the state gateway its forks fetch through listening."""
        if not self.gateway.url:
            await self.gateway.start()
        return self._engine

    def follow_reorgs(self, tracker: BlockTracker) -> None:
        """Invalidate this machine's cached by-number state whenever `tracker` (following the
        same chain, e.g. `chain.streams.Chain(machine.upstream).tracker`) sees a reorg, so a
        replay in the reorged range forks from the new blocks, not from stale cache."""
        from timemachine.chain.tracker import invalidate_gateway  # structlog: services only

        tracker.on_reorg(invalidate_gateway(self.gateway))

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
        result = await engine.replay_transaction(tx_hash, mode=mode, compare_trace=compare_trace)
        observe_replay(self.upstream.label, result.rpc_requests)
        return result

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

    async def whatif(self, tx_hash: str, whatif: WhatIf) -> ReplayResult:
        """Replay a mined transaction with modifications applied on the fork first (patched
        code, state overrides, sender, block, inserted or dropped transactions; see `WhatIf`).

        The fidelity part compares it with the original receipt and lists the modifications.
        """
        from timemachine.replay.whatif import replay_whatif

        if whatif.empty:
            return await self.replay(tx_hash, mode=whatif.mode)
        return await replay_whatif(await self.engine(), tx_hash, whatif)

    async def analyze_whatif(
        self, tx_hash: str, whatif: WhatIf
    ) -> tuple[ReplayResult, AnalysisReport]:
        """`whatif`, and every detector, profit and fund-flow analysis on its result."""
        from timemachine.analysis import analyze as run_detectors

        result = await self.whatif(tx_hash, whatif)
        return result, run_detectors(result)

    async def compare(self, tx_hash: str, whatif: WhatIf | None = None) -> Comparison:
        """Original receipt vs replay; or, with modifications, replay vs what-if (both analyzed:
        balances, findings, profit and swap prices compared as well)."""
        from timemachine.analysis import analyze as run_detectors
        from timemachine.analysis.compare import compare_runs, original_run, replay_run

        replayed = await self.replay(tx_hash, mode=whatif.mode if whatif else "exact")
        if whatif is None or whatif.empty:
            return compare_runs(original_run(replayed), replay_run(replayed, None, "replay"))
        modified = await self.whatif(tx_hash, whatif)
        return compare_runs(
            replay_run(replayed, run_detectors(replayed), "replay"),
            replay_run(modified, run_detectors(modified), "what-if"),
        )

    async def verify_fix(self, tx_hash: str, patches: Sequence[CodePatch]) -> FixVerification:
        """Replay an exploit against its original and its patched code: does it still pay?"""
        from timemachine.analysis.fix import verify_fix

        if not patches:
            raise InvalidInputError("verify-fix needs at least one patch (--patch ADDR=FILE.sol)")
        original = await self.replay(tx_hash)
        patched = await self.whatif(tx_hash, WhatIf(patches=list(patches)))
        return verify_fix(original, patched, list(patches))

    async def replay_many(self, tx_hashes: Sequence[str]) -> list[ReplayResult]:
        """Replay mined transactions in sequence on one fork, in chain order."""
        return await (await self.engine()).replay_many(tx_hashes)

    async def replay_raw(self, raw_tx: str, *, block_number: int | None = None) -> ReplayResult:
        """Run a raw signed transaction on top of a block (default latest)."""
        return await (await self.engine()).replay_raw(raw_tx, block_number=block_number)

    async def export_capsule(self, tx_hash: str, whatif: WhatIf | None = None) -> Capsule:
        """A capsule of `tx_hash` (and its block's earlier transactions), verified by replaying
        it offline before it is returned: a capsule that does not replay exactly is an error.

        With a `whatif` (not empty), the capsule (version 2) carries the what-if: the state it
        touched as the live what-if ran it (at `at_block`'s state for another block), the
        transactions it sent, the state edits as data, and the live what-if's outcome, which the
        offline replay must reproduce exactly (status, gas, logs, call tree)."""
        if whatif is not None and not whatif.empty:
            return await self._export_whatif_capsule(tx_hash, whatif)
        engine = await self.engine()
        captured: dict[str, Any] = {}

        async def capture(fork: LiveFork, original: OriginalTx, executed: ExecutedBlock) -> None:
            captured["accounts"] = await capture_accounts(fork, executed, original.block_number - 1)
            captured["transactions"] = [*original.preceding(), original.tx]

        result = await engine.replay_transaction(
            tx_hash, on_executed=capture, needs_anvil=CAPSULE_EXPORT_NEEDS_ANVIL
        )
        capsule = build_capsule(
            result, captured["transactions"], captured["accounts"], self._capsule_source()
        )
        await self._verify_capsule(tx_hash, capsule)
        return capsule

    async def _export_whatif_capsule(self, tx_hash: str, whatif: WhatIf) -> Capsule:
        from timemachine.replay.whatif import WhatIfRun, replay_whatif

        engine = await self.engine()
        captured: dict[str, Any] = {}

        async def capture(fork: LiveFork, run: WhatIfRun) -> None:
            captured["accounts"] = await capture_accounts(fork, run.executed, run.parent)
            captured["transactions"] = run.transactions
            captured["state"] = state_edits(run.state_calls)
            captured["parent"] = run.parent

        result = await replay_whatif(engine, tx_hash, whatif, on_executed=capture)
        if result.original is None:
            raise ReplayError(f"the what-if of {tx_hash} has no original receipt to record")
        accounts = await unmodified_accounts(
            self.upstream, captured["accounts"], captured["state"], captured["parent"]
        )
        carried = CapsuleWhatIf(
            description=whatif.describe(),
            state=captured["state"],
            mode=whatif.mode,
            at_block=whatif.at_block,
            original=outcome_of(result.original),
        )
        capsule = build_capsule(
            result,
            captured["transactions"],
            accounts,
            self._capsule_source(),
            whatif=carried,
        )
        await self._verify_capsule(tx_hash, capsule)
        return capsule

    def _capsule_source(self) -> dict[str, str]:
        return {"upstream": self.upstream.label, "tool": f"timemachine {__version__}"}

    async def _verify_capsule(self, tx_hash: str, capsule: Capsule) -> None:
        """Replay `capsule` offline; anything but an exact replay of its expectation is an error."""
        check = await replay_capsule_on(
            capsule, self.runtime.capsule_backend(capsule), self._engine.decoder
        )
        if check.fidelity.verdict != "exact":
            first = check.fidelity.differences[0]
            what = "what-if capsule" if capsule.whatif is not None else "capsule"
            raise ReplayError(
                f"the {what} of {tx_hash} does not replay exactly offline ({first.field}: "
                f"{first.explanation}); not exported"
            )

    @contextlib.asynccontextmanager
    async def fork(self, block_number: int | None = None) -> AsyncIterator[Fork]:
        """A live fork of the upstream at `block_number` (latest by default) to explore freely."""
        spec = ForkSpec(
            upstream_url=self.upstream.url, block_number=block_number, extra_args=EXPLORE_ARGS
        )
        async with self.forks.fork(spec, keep_warm=False) as live:
            yield live


async def replay_capsule_async(
    capsule: Capsule | Path,
    *,
    forks: ForkManager | None = None,
    decoder: Decoder | None = None,
    backend: BackendName = "auto",
    settings: Settings | None = None,
) -> ReplayResult:
    """Replay a capsule (or a capsule file) offline: no upstream, no network, on `backend`
    (`auto`: py-evm for a capsule of signed transactions before London, else anvil)."""
    loaded = read_capsule(capsule) if isinstance(capsule, Path) else capsule
    runtime = build(settings, backend=backend, forks=forks, decoder=decoder)
    try:
        return await replay_capsule_on(loaded, runtime.capsule_backend(loaded), runtime.decoder)
    finally:
        if forks is None:
            await runtime.aclose()


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
