"""The monitor's store as a bus consumer: a monitor running with `MONITOR_STORE=bus` stores
nothing itself; `timemachine consume tx_enriched --group monitor-store --handler
timemachine.monitor.sinks:store` (and the same for `tx_simulated`) applies its events to
`monitor_txs`, once per event (`store.processed_events.exactly_once`), in any order.

Every record event is a full snapshot of the transaction. Redeliveries and two topics make
them arrive out of order, so a snapshot is merged, not written over: the lifecycle comes from
the most recent snapshot (`updated_at`), the simulation from the most recent one that has it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from timemachine.logs import get_logger
from timemachine.monitor.models import MonitoredTx
from timemachine.monitor.service import row_of
from timemachine.ports import Delivery, Handler
from timemachine.settings import Settings
from timemachine.store.db import Database
from timemachine.store.monitor import MonitoredTxRow, MonitoredTxs
from timemachine.store.processed_events import exactly_once, prune_expired
from timemachine.store.rows import insert_for

log = get_logger(__name__)

RECORD_EVENTS = frozenset(
    {
        "tx_enriched",
        "tx_sighted",
        "tx_included",
        "tx_replaced",
        "tx_dropped",
        "tx_reorged",
        "tx_simulated",
    }
)
"""The events that carry a whole monitored transaction (the topics tx_enriched, tx_simulated)."""
PURGE_INTERVAL = 3600.0
"""Seconds between two retention purges of a storage member."""


def merged(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """One record of two snapshots of a transaction: the newer's lifecycle (the incoming one on
    a tie), its simulation or the older's when the newer has none yet, and every provider's
    first sighting of either."""
    newer, older = (
        (incoming, stored) if incoming["updated_at"] >= stored["updated_at"] else (stored, incoming)
    )
    first_seen = dict(older["first_seen"])
    for provider, at in newer["first_seen"].items():
        first_seen[provider] = min(at, first_seen.get(provider, at))
    return {
        **newer,
        "first_seen": first_seen,
        "simulation": newer.get("simulation") or older.get("simulation"),
    }


def apply_event(session: Session, event: dict[str, Any]) -> bool:
    """Store a record event in `session`'s transaction (merged with the stored row, locked on
    PostgreSQL); False, and nothing written, for events that carry no record."""
    if event.get("type") not in RECORD_EVENTS:
        return False
    record = MonitoredTx.model_validate(event)
    locked = (
        select(MonitoredTxRow.payload)
        .where(MonitoredTxRow.chain == record.tx.chain, MonitoredTxRow.hash == record.tx.hash)
        .with_for_update()
    )
    stored = session.scalar(locked)
    if stored is None:
        if _inserted(session, record):
            return True
        stored = session.scalar(locked)  # another member stored it first: merge with it
    snapshot = record.model_dump(mode="json")
    if stored is not None:
        snapshot = merged(stored, snapshot)
    MonitoredTxs(session).upsert([row_of(MonitoredTx.model_validate(snapshot))])
    return True


def _inserted(session: Session, record: MonitoredTx) -> bool:
    """Insert the first row of a transaction; False when one is already there."""
    value = record.tx.value
    row = {**row_of(record).model_dump(), "value": str(value), "value_float": float(value)}
    table = MonitoredTxRow.__table__
    statement = insert_for(session, table).values(row).on_conflict_do_nothing()  # type: ignore[arg-type]
    return session.execute(statement.returning(table.c.id)).first() is not None


class WithStore(Protocol):
    """What the factory needs of the runtime `timemachine consume` passes it."""

    @property
    def settings(self) -> Settings: ...

    def database(self) -> Database: ...


def store(runtime: WithStore, group: str) -> Handler:
    """The handler factory of `timemachine consume … --handler timemachine.monitor.sinks:store`:
    each record event applied to the runtime's store exactly once for `group`. It also applies
    the retention the monitor applies when it stores itself: settled rows older than
    MONITOR_RETENTION_HOURS are purged at start and then hourly, with the processed event ids
    the stream no longer holds (`prune_expired`)."""
    database = runtime.database()
    retention = runtime.settings.monitor_retention_hours * 3600
    last_purge = 0.0

    def effect(session: Session, delivery: Delivery) -> None:
        if not apply_event(session, dict(delivery.event)):
            log.info(
                "event without a record ignored",
                topic=delivery.topic,
                type=delivery.event.get("type"),
            )

    def purge(cutoff: float) -> None:
        with database.session() as session:
            MonitoredTxs(session).purge(cutoff)
        prune_expired(database, runtime.settings.event_bus_max_age)

    sink = exactly_once(database, group, effect)

    async def handler(delivery: Delivery) -> None:
        nonlocal last_purge
        await sink(delivery)
        now = time.time()
        if now - last_purge >= PURGE_INTERVAL:
            last_purge = now
            await asyncio.to_thread(purge, now - retention)

    return handler
