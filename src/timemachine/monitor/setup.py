"""Assemble a monitor from its parts (the CLI, the service and the demo all start here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from timemachine.chain.pool import PoolOptions, ProviderPool
from timemachine.chain.rpc import RpcClient
from timemachine.forks.manager import ForkManager
from timemachine.hexutil import quantity
from timemachine.monitor.enrich import Enricher
from timemachine.monitor.headforks import HeadForks
from timemachine.monitor.ingest import MonitorChain
from timemachine.monitor.prefilter import SimulationFilter
from timemachine.monitor.service import Monitor, MonitorHook
from timemachine.monitor.simulate import Simulator
from timemachine.monitor.traffic import Traffic
from timemachine.ports import EventBus, ForkBackend, ForkSpec
from timemachine.store.db import Database
from timemachine.trace.decoder import Decoder


@dataclass(frozen=True)
class MonitorOptions:
    """How a monitor runs (the `MONITOR_*` settings, or the CLI's options)."""

    simulate: str = "none"
    watch: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    forks: int = 2
    backlog: int = 256
    deadline: float = 10.0
    drop_after: int = 3
    retention_hours: float = 24.0
    poll_interval: float = 1.0
    confirmations: int = 64


def build_monitor(
    rpc: RpcClient,
    *,
    name: str,
    decoder: Decoder,
    bus: EventBus,
    options: MonitorOptions,
    forks: ForkBackend | None = None,
    database: Database | None = None,
    hook: MonitorHook | None = None,
) -> Monitor:
    """A monitor of the chain behind `rpc` (a client or a pool); it simulates on `forks` unless
    the filter is `none` (the filter is checked here, before anything starts); `hook` (e.g. the
    rules' `RuleFeed`) is told of every state change."""
    sim_filter = SimulationFilter.parse(options.simulate)
    chain = MonitorChain(
        rpc, name=name, confirmations=options.confirmations, poll_interval=options.poll_interval
    )
    simulator = None
    if forks is not None and options.simulate.strip().lower() != "none":
        simulator = Simulator(
            HeadForks(forks, rpc.url, size=options.forks),
            decoder,
            filter=sim_filter,
            capacity=options.backlog,
            deadline=options.deadline,
        )
    return Monitor(
        chain,
        Enricher(decoder, labels=options.labels, watch=options.watch),
        bus,
        simulator=simulator,
        database=database,
        drop_after=options.drop_after,
        retention_hours=options.retention_hours,
        hook=hook,
    )


PAUSED_CHAIN_ARGS = ("--silent", "--no-mining", "--order", "fees", "--accounts", "0")
"""A live chain with mining paused, the highest tip first (like a real builder)."""


def both_transports(url: str) -> str:
    """Two providers of one node: its HTTP URL (polled) and its WebSocket (subscribed)."""
    return f"{url},{url.replace('http://', 'ws://')}"


@dataclass
class PausedChain:
    """A monitor running on a paused fork, and a traffic generator sending to its pool."""

    monitor: Monitor
    traffic: Traffic
    url: str

    async def mine(self) -> int:
        """Mine one block; its number."""
        await self.traffic.rpc.call("evm_mine")
        return int(await self.traffic.rpc.call("eth_blockNumber"), 16)


@contextlib.asynccontextmanager
async def monitor_paused_fork(
    upstream: str,
    block_number: int,
    *,
    forks: ForkManager,
    decoder: Decoder,
    bus: EventBus,
    options: MonitorOptions,
    name: str = "devnet",
    database: Database | None = None,
    providers: Callable[[str], str] = both_transports,
    hook: MonitorHook | None = None,
) -> AsyncIterator[PausedChain]:
    """A fork of `upstream` at `block_number` with mining paused, watched (in the background) by
    a monitor over `providers(fork URL)` (default: HTTP polling and a WebSocket subscription of
    the fork). Ready once the monitor has its first head; everything stops on exit."""
    spec = ForkSpec(upstream_url=upstream, block_number=block_number, extra_args=PAUSED_CHAIN_ARGS)
    live = await forks.acquire(spec)
    rpc = ProviderPool(providers(live.url), PoolOptions())
    monitor = build_monitor(
        rpc,
        name=name,
        decoder=decoder,
        bus=bus,
        options=options,
        forks=forks,
        database=database,
        hook=hook,
    )
    task = asyncio.create_task(monitor.run())
    try:
        chain_id = quantity(await live.rpc.call("eth_chainId")) or 0
        while monitor.head is None:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield PausedChain(monitor, Traffic(live.rpc, chain_id), live.url)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await rpc.aclose()
        if monitor.simulator is not None:
            await monitor.simulator.aclose()
        await forks.release(live, keep_warm=False)
