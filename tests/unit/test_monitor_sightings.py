"""Each provider's first sighting of a pending transaction reaches a bus-fed store (a
`tx_sighted` event per new provider), and the processed event ids are pruned on a schedule
once the stream no longer holds their events."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import update

from tests.unit.monitor_records import raw_tx
from tests.unit.test_monitor_service import offline_monitor
from timemachine.bus import LocalBus, topics
from timemachine.bus.topics import EVENT_ID_KEY
from timemachine.monitor.sinks import store
from timemachine.ports import Delivery
from timemachine.runtime import Runtime
from timemachine.settings import Settings
from timemachine.store import MonitoredTxs
from timemachine.store.processed_events import ProcessedEvent, exactly_once, prune_expired
from timemachine.tasks.app import create_celery


async def test_each_new_provider_publishes_its_sighting(tmp_path: Path) -> None:
    bus = LocalBus()
    monitor = offline_monitor(bus)
    events = bus.subscribe(topics.TX_ENRICHED)
    received: list[dict[str, Any]] = []

    async def collect() -> None:
        async for event in events:
            received.append(event)

    collecting = asyncio.ensure_future(collect())
    await asyncio.sleep(0.05)  # subscribed
    record = monitor.take("a", raw_tx(1), 100.0)
    assert record is not None
    assert monitor.take("b", raw_tx(1), 101.0) is None
    assert monitor.take("b", raw_tx(1), 102.0) is None  # b again: nothing new
    assert monitor.take("c", raw_tx(1), 103.0) is None
    async with asyncio.timeout(10):
        while len(received) < 3:
            await asyncio.sleep(0.01)
    collecting.cancel()
    assert [(e["type"], e[EVENT_ID_KEY]) for e in received] == [
        ("tx_enriched", f"test:{record.tx.hash}:tx_enriched:0:"),
        ("tx_sighted", f"test:{record.tx.hash}:tx_sighted:0:a,b"),
        ("tx_sighted", f"test:{record.tx.hash}:tx_sighted:0:a,b,c"),
    ]

    runtime = Runtime(settings=Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    handler = store(runtime, "monitor-store")
    for event in reversed(received):  # in any order, once each
        await handler(Delivery(topics.TX_ENRICHED, event[EVENT_ID_KEY], event))
    with runtime.database().session() as s:
        stored = MonitoredTxs(s).get("test", record.tx.hash)
    assert stored is not None
    assert stored["first_seen"] == {"a": 100.0, "b": 101.0, "c": 103.0}
    runtime.database().dispose()


async def test_processed_ids_are_pruned_after_the_streams_max_age(tmp_path: Path) -> None:
    runtime = Runtime(settings=Settings(database_url=f"sqlite:///{tmp_path / 'p.db'}"))
    db = runtime.database()
    remember = exactly_once(db, "g", lambda _s, _d: None)
    await remember(Delivery("blocks", "old", {}))
    await remember(Delivery("blocks", "new", {}))
    two_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    with db.session() as s:
        s.execute(
            update(ProcessedEvent)
            .where(ProcessedEvent.event_id == "old")
            .values(processed_at=two_days_ago)
        )
    assert prune_expired(db, 0) == 0  # the stream keeps everything: so are the ids
    assert prune_expired(db, 24 * 3600) == 1
    with db.session() as s:
        assert [e.event_id for e in s.query(ProcessedEvent)] == ["new"]
    db.dispose()


def test_the_beat_prunes_hourly_on_the_cleanup_queue(tmp_path: Path) -> None:
    app = create_celery(Settings(data_dir=tmp_path))
    entry = app.conf.beat_schedule["prune-processed-events"]
    assert entry["task"] == "tasks.events_tasks.prune_processed_events"
    route = app.amqp.router.route({}, entry["task"])
    assert route["queue"].name == "cleanup"
    assert app.conf.beat_schedule["alerts-sweep-deliveries"]["schedule"] == 30.0
