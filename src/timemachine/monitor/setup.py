"""Assemble a monitor from its parts (the CLI, the service and the demo all start here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from timemachine.chain.rpc import RpcClient
from timemachine.monitor.enrich import Enricher
from timemachine.monitor.headforks import HeadForks
from timemachine.monitor.ingest import MonitorChain
from timemachine.monitor.prefilter import SimulationFilter
from timemachine.monitor.service import Monitor
from timemachine.monitor.simulate import Simulator
from timemachine.ports import EventBus, ForkBackend
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
) -> Monitor:
    """A monitor of the chain behind `rpc` (a client or a pool); it simulates on `forks` unless
    the filter is `none` (the filter is checked here, before anything starts)."""
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
    )
