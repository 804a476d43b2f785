"""A live chain for the monitor's tests: a fork of the devnet just before a scenario's exploit,
with mining paused, watched by a monitor (SQLite store in the test's folder)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from timemachine.bus import LocalBus
from timemachine.catalog.models import ScenarioRecord
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet
from timemachine.forks.manager import ForkManager
from timemachine.monitor.service import MonitorHook
from timemachine.monitor.setup import (
    MonitorOptions,
    PausedChain,
    both_transports,
    monitor_paused_fork,
)
from timemachine.ports import EventBus
from timemachine.runtime import default_decoder
from timemachine.store.db import Database, open_database


def scenario_of_class(devnet: Devnet, vulnerability_class: str) -> ScenarioRecord:
    return next(
        record
        for record in devnet.history.scenarios
        if record.vulnerability_class == vulnerability_class and not record.benign
    )


async def raw_transaction(devnet: Devnet, tx_hash: str) -> str:
    """A devnet transaction as signed bytes (to send it again to a fork's pool)."""
    async with RpcClient(devnet.rpc_url) as rpc:
        raw = await rpc.call("eth_getRawTransactionByHash", [tx_hash])
    assert isinstance(raw, str)
    return raw


@dataclass
class LiveMonitor:
    chain: PausedChain
    database: Database


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
    deadline: float = 30.0,
    providers: Callable[[str], str] = both_transports,
    hook: MonitorHook | None = None,
    bus: EventBus | None = None,
    store_locally: bool = True,
) -> AsyncIterator[LiveMonitor]:
    """The devnet forked right before `before`'s exploit block, mining paused, monitored
    (publishing on `bus`, default an in-process one; storing to the test's SQLite file unless
    `store_locally` is False: then a bus consumer stores)."""
    forks = ForkManager()
    database = open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
    options = MonitorOptions(
        simulate=simulate,
        labels=devnet.history.labels,
        deadline=deadline,
        drop_after=drop_after,
        poll_interval=0.1,
    )
    try:
        async with monitor_paused_fork(
            devnet.rpc_url,
            before.block_number - 1,
            forks=forks,
            decoder=default_decoder(),
            bus=bus or LocalBus(),
            options=options,
            database=database if store_locally else None,
            providers=providers,
            hook=hook,
        ) as chain:
            yield LiveMonitor(chain, database)
    finally:
        await forks.shutdown()
        database.dispose()
