"""Exactly-once effects of at-least-once events: the idempotent sink.

The bus delivers an event at least once (a consumer killed after its effect was committed but
before its ack gets the event again). `exactly_once` makes a handler whose effect is a store
write run once per (group, event id): it records the id in `processed_events` in the *same*
transaction as the effect, with an insert that does nothing when the id is already there. A
redelivery finds the id and skips; a crash before the commit leaves neither the effect nor the
id, so the redelivery does both. Two members of a group handling one event at once (an ack wait
exceeded) serialize on the primary key: the second waits for the first's commit, then skips.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import CursorResult, String, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from timemachine.ports import Delivery, Handler
from timemachine.store.db import Database
from timemachine.store.tables import Base, UtcDateTime, utcnow

Effect = Callable[[Session, Delivery], None]
"""Writes one event's effect in the given (open) transaction."""


class ProcessedEvent(Base):
    """One event a consumer group has applied to the store."""

    __tablename__ = "processed_events"

    consumer_group: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


def record_once(session: Session, group: str, delivery: Delivery) -> bool:
    """Record that `group` processed `delivery` in `session`'s transaction; False when it
    already had (the effect must then be skipped)."""
    row: dict[str, Any] = {
        "consumer_group": group,
        "event_id": delivery.event_id,
        "topic": delivery.topic,
        "processed_at": utcnow(),
    }
    dialect_insert = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    statement = dialect_insert(ProcessedEvent).values(row).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports 1 for an INSERT … ON CONFLICT DO NOTHING that
    # inserted nothing when it goes through the ORM session.
    inserted = session.execute(statement.returning(ProcessedEvent.event_id)).first()
    return inserted is not None


def exactly_once(db: Database, group: str, effect: Effect) -> Handler:
    """A handler applying `effect` at most once per event id for `group` (see the module doc);
    the database work runs in a thread, off the consumer's event loop."""

    def apply(delivery: Delivery) -> None:
        with db.session() as session:
            if record_once(session, group, delivery):
                effect(session, delivery)

    async def handler(delivery: Delivery) -> None:
        await asyncio.to_thread(apply, delivery)

    return handler


def prune_processed(session: Session, before: dt.datetime) -> int:
    """Forget ids processed before `before` (older than any redelivery can be: keep at least
    the stream's max age); returns how many were removed."""
    statement = delete(ProcessedEvent).where(ProcessedEvent.processed_at < before)
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount)


def prune_expired(db: Database, stream_max_age: float) -> int:
    """Forget the ids of events the stream no longer holds (older than its max age, so no
    redelivery of them can come, even to a member that was down for days); nothing when the
    stream keeps events forever (0). How many were removed."""
    if stream_max_age <= 0:
        return 0
    with db.session() as session:
        return prune_processed(session, utcnow() - dt.timedelta(seconds=stream_max_age))
