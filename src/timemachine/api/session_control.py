"""What the endpoints do, beyond reading: start, cancel and remove sessions through the job
queue (`ports.JobQueue`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from timemachine.bus import STATUS_CHANNEL
from timemachine.errors import BrokerUnreachableError, TooManyActiveSessionsError
from timemachine.logs import get_logger
from timemachine.models.sessions import ReplaySessionRecord, SessionKind
from timemachine.orchestration.progress import Reporter, session_event
from timemachine.ports import EventBus, JobQueue
from timemachine.store import Database, ReplaySessions
from timemachine.tasks.submit import enqueue

__all__ = ["BrokerUnreachableError", "cancel_session", "start_session"]

log = get_logger(__name__)


def start_session(
    db: Database,
    queue: JobQueue,
    bus: EventBus,
    *,
    owner: str,
    kind: SessionKind,
    request: dict[str, Any],
    max_active: int | None = None,
) -> ReplaySessionRecord:
    """Store a pending session and queue its task (task id = session id).

    With `max_active`, refuse (TooManyActiveSessionsError, 429) when the owner already has that
    many pending or running sessions. Count and insert are one transaction, serialized per owner
    (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock on the owner), so
    concurrent starts cannot overshoot the cap."""
    session_id = str(uuid.uuid4())
    with db.session() as s:
        sessions = ReplaySessions(s)
        if max_active is not None:
            if db.dialect == "postgresql":
                s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:owner))"), {"owner": owner})
            active = sessions.count_active(owner)
            if active >= max_active:
                raise TooManyActiveSessionsError(
                    f"you have {active} pending or running sessions, the most allowed "
                    f"(MAX_ACTIVE_SESSIONS_PER_USER={max_active}); wait for one "
                    "to finish or cancel one",
                    retry_after=30,
                )
        record = sessions.create(
            owner=owner, kind=kind, request=request, session_id=session_id, task_id=session_id
        )
    reporter = Reporter(db, bus, session_id)
    bus.publish(STATUS_CHANNEL, session_event(record))
    enqueue(queue, record, reporter)
    log.info("session queued", session_id=session_id, kind=kind.value, owner=owner)
    return record


def cancel_session(
    db: Database, queue: JobQueue, bus: EventBus, session_id: str, *, owner: str | None = None
) -> ReplaySessionRecord:
    """Mark the session cancelled (409 when it already finished), then revoke its task.

    The store is what the worker obeys: it stops at its next progress report even when the
    revoke does not reach it (the embedded broker carries no broadcast commands)."""
    with db.session() as s:
        record = ReplaySessions(s).cancel(session_id, owner=owner)
    Reporter(db, bus, session_id).publish(record)
    queue.revoke(record.task_id or record.id)
    return record
