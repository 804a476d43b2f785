"""The monitor's service loop parts that need no chain: ingestion into the lifecycle, events on
the bus, and the stats published on the status channel."""

from __future__ import annotations

import asyncio

from tests.unit.monitor_records import raw_tx
from timemachine.bus import STATUS_CHANNEL, LocalBus, topics
from timemachine.chain.rpc import RpcClient
from timemachine.monitor.enrich import Enricher
from timemachine.monitor.ingest import MonitorChain
from timemachine.monitor.service import Monitor
from timemachine.trace.decoder import Decoder


def offline_monitor(bus: LocalBus) -> Monitor:
    chain = MonitorChain(RpcClient("http://127.0.0.1:9"), name="test")
    return Monitor(chain, Enricher(Decoder()), bus)


async def test_a_new_transaction_is_published_once_and_counted() -> None:
    bus = LocalBus()
    monitor = offline_monitor(bus)
    raw_events = bus.subscribe(topics.TX_RAW)
    status_events = bus.subscribe(STATUS_CHANNEL)
    first_raw = asyncio.ensure_future(anext(raw_events))
    first_status = asyncio.ensure_future(anext(status_events))
    await asyncio.sleep(0)  # both subscribed
    record = monitor.take("a", raw_tx(1), 100.0)
    assert record is not None
    assert monitor.take("b", raw_tx(1), 101.0) is None
    assert monitor.take("b", ["junk"], 102.0) is None
    assert record.first_seen == {"a": 100.0, "b": 101.0}
    monitor.report_stats()
    assert (await first_raw)["hash"] == record.tx.hash
    stats = await first_status
    assert (stats["type"], stats["pending"], stats["malformed"]) == ("monitor_stats", 1, 1)
    assert stats["providers"]["b"]["first"] == 0
