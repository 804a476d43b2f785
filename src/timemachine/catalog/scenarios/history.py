"""Build the deterministic devnet history: world, everyday activity, busy block, exploits."""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.catalog.builder import ChainBuilder
from timemachine.catalog.devnet import DEVNET_CHAIN_ID
from timemachine.catalog.models import DevnetHistory, ScenarioRecord
from timemachine.catalog.scenarios import SCENARIOS, Scenario
from timemachine.catalog.scenarios.world import build_world
from timemachine.chain.rpc import RpcClient

__all__ = ["DevnetHistory", "ScenarioRecord", "build_history"]


async def build_history(rpc: RpcClient, scenarios: Sequence[Scenario] = SCENARIOS) -> DevnetHistory:
    """Stage the devnet history on the fresh anvil behind `rpc`: the shared world, then
    `scenarios` in order (default: the bundled set; e.g. `GENERALIZATION_SCENARIOS` instead).

    The anvil must be started with `timemachine.catalog.devnet.DEVNET_ANVIL_ARGS`; the same flags
    always yield the same blocks and transaction hashes. Raises DevnetBuildError otherwise.
    """
    chain = ChainBuilder(rpc)
    await chain.open()
    world = await build_world(chain)
    records = [await scenario.stage(world) for scenario in scenarios]
    return DevnetHistory(
        chain_id=DEVNET_CHAIN_ID,
        scenarios=records,
        busy_block=world.busy_block,
        busy_tx=world.busy_tx,
        labels=dict(chain.labels),
        transactions=chain.sent,
        head_block=chain.block_number,
    )
