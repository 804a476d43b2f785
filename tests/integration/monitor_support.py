"""A live chain for the monitor's tests: an anvil fork of the devnet just before a scenario's
exploit, with mining paused, and a monitor running on it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from timemachine.bus import LocalBus
from timemachine.catalog.models import ScenarioRecord
from timemachine.chain.pool import open_upstream
from timemachine.devnet import Devnet
from timemachine.forks.manager import ForkManager
from timemachine.monitor.service import Monitor
from timemachine.monitor.setup import MonitorOptions, build_monitor
from timemachine.monitor.traffic import Traffic
from timemachine.ports import ForkSpec
from timemachine.runtime import default_decoder
from timemachine.settings import Settings
from timemachine.store.db import Database, open_database

PAUSED = ("--silent", "--no-mining", "--order", "fees", "--accounts", "0")
"""A live chain with mining paused; the highest tip first, like a real builder."""


@dataclass
class LiveMonitor:
    monitor: Monitor
    traffic: Traffic
    url: str
    database: Database

    async def mine(self) -> int:
        """Mine one block on the live chain; its number."""
        await self.traffic.rpc.call("evm_mine")
        block = await self.traffic.rpc.call("eth_blockNumber")
        return int(block, 16)


async def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll `check` until true (integration only: the monitor works in the background)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def live_monitor(
    devnet: Devnet,
    before: ScenarioRecord,
    tmp_path: Path,
    *,
    simulate: str = "all",
    drop_after: int = 2,
) -> AsyncIterator[LiveMonitor]:
    """The live chain forked from the devnet right before `before`'s exploit block, watched by a
    monitor over two providers (HTTP polling and a WebSocket subscription of the same node)."""
    forks = ForkManager()
    live = await forks.acquire(
        ForkSpec(upstream=devnet.rpc_url, block_number=before.block_number - 1, extra_args=PAUSED)
    )
    url = live.url
    providers = f"{url},{url.replace('http://', 'ws://')}"
    database = open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
    options = MonitorOptions(
        simulate=simulate,
        labels=devnet.history.labels,
        deadline=30.0,
        drop_after=drop_after,
        poll_interval=0.1,
    )
    monitor = build_monitor(
        open_upstream(providers, Settings()),
        name="devnet",
        decoder=default_decoder(),
        bus=LocalBus(),
        options=options,
        forks=forks,
        database=database,
    )
    task = asyncio.create_task(monitor.run())
    try:
        await wait_for(lambda: monitor.head is not None, "the monitor's first head")
        yield LiveMonitor(monitor, Traffic(live.rpc, devnet.history.chain_id), url, database)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await monitor.chain.aclose()
        await forks.shutdown()
        database.dispose()
