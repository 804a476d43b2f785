"""go-ethereum's tracer fixtures through the live-RPC replay path.

Each fixture is served by a loopback stand-in node (conformance/standin.py) and replayed by the
`ReplayEngine` exactly as a transaction of a real provider is: fetched by hash with its block,
the hardfork read from the chain's schedule or the node's own chain config, the fork started
through the state gateway (seeded from the node's prestateTracer when `debug_api`) on the backend
`ByFork` picks, the block re-executed, the result judged. Right after the block is mined the
fixture's tracer runs on the fork and is compared with geth's expected output, as the offline
runner (conformance/geth.py) compares it; where the fixture records the receipt (callTracer) the
replay's verdict must be exact on what it records too.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from timemachine.chain.gateway import StateGateway
from timemachine.chain.rpc import RpcClient
from timemachine.conformance.compare import differences
from timemachine.conformance.geth import CaseResult, Fixture, trace_forms
from timemachine.conformance.standin import FixtureNode, StandinNode, receipt_recorded, serve
from timemachine.errors import TimeMachineError
from timemachine.forks.manager import ForkManager
from timemachine.models import ReplayResult
from timemachine.ports import BackendName, ExecutedBlock, LiveFork
from timemachine.replay.backends import ByFork, PyEvmBackend
from timemachine.replay.engine import ReplayEngine
from timemachine.replay.source import OriginalTx
from timemachine.trace.decoder import Decoder


@dataclass(frozen=True)
class LiveReplay:
    """A fixture replayed through RPC: the result, geth's and our tracer output, and every
    method the stand-in node was asked."""

    result: ReplayResult
    expected: Any
    actual: Any
    backend: str
    methods: list[str]


async def replay_fixture_via_rpc(
    fixture: Fixture,
    forks: ForkManager,
    *,
    debug_api: bool = True,
    choice: BackendName = "auto",
) -> LiveReplay:
    """Serve `fixture` from a stand-in node and replay its transaction from it (`choice`: the
    backend, `auto` picking the exact one)."""
    node = FixtureNode(fixture, debug_api=debug_api)
    traced: dict[str, Any] = {}

    async def capture(fork: LiveFork, original: OriginalTx, executed: ExecutedBlock) -> None:
        traced["forms"] = await trace_forms(fork, fixture, fixture.hardfork, executed)
        traced["backend"] = fork.backend

    async with engine_of(node, forks, choice) as engine:
        result = await engine.replay_transaction(node.tx["hash"], on_executed=capture)
    expected, actual = traced["forms"]
    return LiveReplay(result, expected, actual, traced["backend"], node.methods)


async def run_fixture_via_rpc(
    fixture: Fixture, forks: ForkManager, *, debug_api: bool = True
) -> CaseResult:
    """Replay `fixture` from its stand-in node and compare as geth's runner does."""
    try:
        live = await replay_fixture_via_rpc(fixture, forks, debug_api=debug_api)
    except TimeMachineError as error:
        return CaseResult(
            name=fixture.name, tracer=fixture.tracer, status="error", differences=[str(error)]
        )
    result = live.result
    found = differences(live.expected, live.actual)
    if result.hardfork != fixture.hardfork:
        found.append(f"hardfork: expected {fixture.hardfork}, got {result.hardfork}")
    found += verdict_differences(fixture, result)
    return CaseResult(
        name=fixture.name,
        tracer=fixture.tracer,
        status="failed" if found else "matched",
        hardfork=result.hardfork,
        backend="py-evm" if live.backend == "py-evm" else "anvil",
        differences=found,
        notes=[note for note in [result.fidelity.backend_reason] if note],
    )


def verdict_differences(fixture: Fixture, result: ReplayResult) -> list[str]:
    """The verdict's differences on what the fixture's receipt records (status and gas of a
    callTracer result; its logs too with withLog)."""
    if fixture.tracer != "callTracer":
        return []
    with_logs = receipt_recorded(fixture)
    return [
        f"verdict: {difference.field}: expected {difference.original}, got {difference.replayed}"
        for difference in result.fidelity.differences
        if difference.field in ("status", "gas_used", "contract_address")
        or (with_logs and difference.field.startswith("logs"))
    ]


async def replay_chain_fixture(
    fixture: Mapping[str, Any], forks: ForkManager, *, choice: BackendName = "auto"
) -> ReplayResult:
    """Replay a chain fixture's target (conformance/chain_fixtures.py) from its stand-in node
    on the backend `choice` names (`auto`: the exact one); the refusal of a transaction the
    engine does not model is raised."""
    node = StandinNode(
        fixture["chain_id"],
        fixture["parent"],
        fixture["block"],
        fixture["receipts"],
        fixture["alloc"],
    )
    async with engine_of(node, forks, choice) as engine:
        return await engine.replay_transaction(fixture["target"])


@contextlib.asynccontextmanager
async def engine_of(
    node: StandinNode, forks: ForkManager, choice: BackendName = "auto"
) -> AsyncIterator[ReplayEngine]:
    """A replay engine whose upstream is `node`, served on loopback, its forks fetching through
    a state gateway (as `TimeMachine` wires one), on `ByFork` backends."""
    server = await serve(node)
    upstream = RpcClient(server.url)
    gateway = StateGateway(upstream)
    try:
        await gateway.start()
        backend = ByFork(forks, PyEvmBackend(), choice)
        yield ReplayEngine(upstream, backend, Decoder(bundled=False), gateway=gateway)
    finally:
        await gateway.stop()
        await upstream.aclose()
        await server.stop()
