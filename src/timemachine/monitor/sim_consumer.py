"""The simulator as a consumer process: `timemachine consume tx_enriched --group monitor-simulate
--handler simulate` takes each newly seen pending transaction from the bus, simulates the ones
the filter picks (MONITOR_SIMULATE) on a warm fork of the chain's current head, and publishes the
outcome on `tx_simulated`. The monitor then runs with `--simulate none`.

Nothing is lost or applied twice: the outcome is published and confirmed by the server before
the input event is acknowledged, and its event id is derived from the input's, so the outcome of
a redelivered input (its member killed after publishing) is dropped by the stream's duplicate
window and by the storage consumer's `exactly_once`.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from timemachine.bus import topics
from timemachine.bus.topics import EVENT_ID_KEY
from timemachine.chain.rpc import RpcClient
from timemachine.errors import InvalidInputError
from timemachine.logs import get_logger
from timemachine.monitor.headforks import HeadForks
from timemachine.monitor.models import MonitoredTx
from timemachine.monitor.prefilter import SimulationFilter
from timemachine.monitor.simulate import Head, HeadSource, Simulator
from timemachine.ports import Delivery, EventBus, ForkBackend, Handler
from timemachine.settings import Settings
from timemachine.trace.decoder import Decoder

log = get_logger(__name__)
HEAD_REFRESH = 1.0
"""Seconds a head is reused before the chain is asked for its latest block again."""


class WithEngine(Protocol):
    """What the factory needs of the runtime `timemachine consume` passes it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def forks(self) -> ForkBackend: ...

    @property
    def decoder(self) -> Decoder: ...

    def bus(self) -> EventBus: ...

    def upstream(self, urls: str) -> RpcClient: ...


class SimulationConsumer:
    def __init__(
        self, rpc: RpcClient, simulator: Simulator, heads: HeadSource, bus: EventBus
    ) -> None:
        self.rpc = rpc
        self.simulator = simulator
        self.heads = heads
        self.bus = bus
        self._head: Head | None = None
        self._head_at = 0.0

    async def head(self) -> Head:
        """The chain's latest block as a `Head` (forks moved to it when it changed)."""
        now = time.monotonic()
        if self._head is None or now - self._head_at > HEAD_REFRESH:
            block = await self.rpc.call("eth_getBlockByNumber", ["latest", False])
            head = await self.heads.head_of(block)
            if self._head is None or head.env.number != self._head.env.number:
                await self.simulator.forks.start(head.env.number)
            self._head, self._head_at = head, now
        return self._head

    async def __call__(self, delivery: Delivery) -> None:
        event = delivery.event
        if event.get("type") != "tx_enriched":  # later changes of a tx are not new candidates
            return
        record = MonitoredTx.model_validate(event)
        if not self.simulator.filter.passes(record):
            return
        record.simulation = await self.simulator.outcome_of(record, await self.head())
        outcome: dict[str, Any] = {
            **record.event("tx_simulated"),
            EVENT_ID_KEY: f"{delivery.event_id}:simulated",
        }
        self.bus.publish(topics.TX_SIMULATED, outcome)
        flush = getattr(self.bus, "flush", None)
        if flush is not None:
            await flush()  # confirmed before the input is acknowledged


def simulate(runtime: WithEngine, group: str) -> Handler:
    """The handler factory of `timemachine consume tx_enriched --handler simulate`: the chain is
    MONITOR_RPC_URLS (its first provider is the forks' upstream)."""
    settings = runtime.settings
    urls = settings.monitor_rpc_urls.strip()
    if not urls:
        raise InvalidInputError("the simulation consumer needs MONITOR_RPC_URLS (the chain)")
    rpc = runtime.upstream(urls)
    forks = HeadForks(runtime.forks, rpc.url, size=settings.monitor_forks)
    simulator = Simulator(
        forks,
        runtime.decoder,
        filter=SimulationFilter.parse(settings.monitor_simulate),
        capacity=settings.monitor_backlog,
        deadline=settings.monitor_deadline,
    )
    log.info("simulation consumer", group=group, filter=settings.monitor_simulate)
    return SimulationConsumer(
        rpc, simulator, HeadSource(rpc, forks, runtime.decoder), runtime.bus()
    )
