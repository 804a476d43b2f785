"""The monitor's storage consumer (SQLite): record events from the bus stored once each, merged
in whatever order they arrive; the monitor's event ids are the same for the same change."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.unit.monitor_records import record
from timemachine.bus.topics import EVENT_ID_KEY
from timemachine.monitor.models import MonitoredTx, Simulation
from timemachine.monitor.service import record_event_id, row_of
from timemachine.monitor.sinks import store
from timemachine.ports import Delivery
from timemachine.runtime import Runtime
from timemachine.settings import Settings
from timemachine.store import MonitoredTxs
from timemachine.store.db import Database
from timemachine.store.processed_events import ProcessedEvent

NOW = time.time()
"""Records are recent (the sink purges settled ones past the retention)."""


def delivery(tx: MonitoredTx, event: str, topic: str = "tx_enriched") -> Delivery:
    body = {**tx.event(event), EVENT_ID_KEY: record_event_id(tx, event)}
    return Delivery(topic, body[EVENT_ID_KEY], body)


def snapshots() -> tuple[Delivery, Delivery, Delivery]:
    """One transaction enriched, then simulated while pending, then included."""
    tx = record(1, seen=NOW)
    tx.updated_at = NOW
    enriched = delivery(tx, "tx_enriched")
    tx.simulation = Simulation(head=7, success=False, revert_reason="no", latency_ms=5.0)
    simulated = delivery(tx, "tx_simulated", "tx_simulated")
    tx.simulation = None  # the included snapshot was taken before the simulation ended
    tx.first_seen = {"p": NOW + 1, "q": NOW + 2}  # q saw it too; p's earliest sighting stays
    tx.status, tx.block_number, tx.block_hash, tx.updated_at = "included", 8, "0xb8", NOW + 10
    return enriched, simulated, delivery(tx, "tx_included")


def stored(db: Database, tx_hash: str) -> tuple[dict[str, Any] | None, dict[str, int]]:
    with db.session() as session:
        txs = MonitoredTxs(session)
        return txs.get("test", tx_hash), txs.counts()


async def test_every_order_and_redelivery_stores_one_final_record(tmp_path: Path) -> None:
    enriched, simulated, included = snapshots()
    tx_hash = enriched.event["tx"]["hash"]
    orders = [
        [enriched, simulated, included],
        [included, simulated, enriched],
        [simulated, included, enriched, included, simulated],  # with redeliveries
    ]
    for n, order in enumerate(orders):
        runtime = Runtime(settings=Settings(database_url=f"sqlite:///{tmp_path / f'{n}.db'}"))
        db = runtime.database()
        handler = store(runtime, "monitor-store")
        for each in order:
            await handler(each)
        payload, counts = stored(db, tx_hash)
        assert counts == {"included": 1}, order
        assert payload is not None
        assert (payload["status"], payload["block_number"], payload["updated_at"]) == (
            "included",
            8,
            NOW + 10,
        )
        assert payload["simulation"]["head"] == 7
        assert payload["first_seen"] == {"p": NOW, "q": NOW + 2}
        assert payload["simulation"]["revert_reason"] == "no"
        with db.session() as session:
            assert session.query(ProcessedEvent).count() == 3
        db.dispose()


async def test_events_without_a_record_are_acknowledged_and_ignored(tmp_path: Path) -> None:
    runtime = Runtime(settings=Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}"))
    db = runtime.database()
    handler = store(runtime, "monitor-store")
    await handler(Delivery("tx_raw", "test:0x01:tx_pending", {"type": "tx_pending", "hash": "0x"}))
    with db.session() as session:
        assert MonitoredTxs(session).counts() == {}
    db.dispose()


def test_event_ids_name_the_change_not_the_moment() -> None:
    enriched, simulated, included = snapshots()
    tx_hash = enriched.event["tx"]["hash"]
    assert enriched.event_id == f"test:{tx_hash}:tx_enriched:0:"
    assert simulated.event_id == f"test:{tx_hash}:tx_simulated:0:7"
    assert included.event_id == f"test:{tx_hash}:tx_included:0:0xb8"
    again = record(1, seen=99.0)  # another monitor, another moment: the same enrichment
    again.updated_at = 99.0
    assert record_event_id(again, "tx_enriched") == enriched.event_id
    again.reorged = 1  # back to pending after a reorg, then included again in the same block
    again.block_hash = "0xb8"
    assert record_event_id(again, "tx_included") != included.event_id


async def test_settled_rows_past_the_retention_are_purged(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'store.db'}")
    runtime = Runtime(settings=settings)
    db = runtime.database()
    old = record(2, seen=1.0)
    old.status, old.updated_at = "dropped", 1.0  # settled in 1970
    kept = record(3, seen=2.0)
    kept.updated_at = 2.0  # as old, but pending: never purged
    with db.session() as session:
        MonitoredTxs(session).upsert([row_of(old), row_of(kept)])
    enriched, _, _ = snapshots()
    await store(runtime, "monitor-store")(enriched)
    _, counts = stored(db, enriched.event["tx"]["hash"])
    assert counts == {"pending": 2}
    db.dispose()
