"""The embedded devnet: a local chain (forks.devnet) on which the bundled scenarios of the catalog
build deterministic history. This module wires the two; neither knows the other."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Sequence
from typing import Any

from timemachine.catalog.devnet import DEVNET_ANVIL_ARGS
from timemachine.catalog.models import DevnetHistory
from timemachine.catalog.scenarios import SCENARIOS, Scenario
from timemachine.catalog.scenarios.history import build_history
from timemachine.forks.devnet import LocalChain, run_local_chain
from timemachine.settings import ForkSettings, Settings

Devnet = LocalChain[DevnetHistory]
"""A running devnet with its history built."""


@contextlib.asynccontextmanager
async def run_devnet(
    *,
    port: int | None = None,
    settings: Settings | ForkSettings | None = None,
    scenarios: Sequence[Scenario] = SCENARIOS,
) -> AsyncIterator[Devnet]:
    """Start the devnet and build its history with `scenarios` (default: the bundled set; the
    generalization set is staged only when passed here); stopped when the context exits."""
    build = functools.partial(build_history, scenarios=scenarios)
    async with run_local_chain(
        DEVNET_ANVIL_ARGS, build, port=port, settings=ForkSettings.of(settings)
    ) as net:
        yield net


def manifest(net: Devnet) -> dict[str, Any]:
    """What `timemachine devnet --manifest` writes: where to reach it and what happened."""
    history = net.history
    return {
        "rpc_url": net.rpc_url,
        "chain_id": history.chain_id,
        "scenarios": [
            {
                "id": record.id,
                "title": record.title,
                "exploit_tx": record.exploit_tx,
                "block_number": record.block_number,
                "benign": record.benign,
            }
            for record in history.scenarios
        ],
        "busy_block": history.busy_block,
        "busy_tx": history.busy_tx,
        "labels": history.labels,
    }
