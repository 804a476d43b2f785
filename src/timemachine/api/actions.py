"""What the endpoints do, beyond reading: start, cancel and remove sessions, and talk to Celery
with bounded waits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Celery
from sqlalchemy import text

from timemachine.bus import STATUS_CHANNEL, EventBus
from timemachine.errors import BrokerUnreachableError as BrokerUnreachableError  # noqa: PLC0414
from timemachine.errors import TooManyActiveSessionsError
from timemachine.logs import get_logger
from timemachine.models.sessions import ReplaySessionRecord, SessionKind
from timemachine.service.progress import Reporter, session_event
from timemachine.store import Database, ReplaySessions
from timemachine.tasks.submit import enqueue

log = get_logger(__name__)
INSPECT_TIMEOUT = 1.0
BROKER_TIMEOUT = 2
T = TypeVar("T")


def start_session(
    db: Database,
    app: Celery,
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
    enqueue(app, record, reporter)
    log.info("session queued", session_id=session_id, kind=kind.value, owner=owner)
    return record


def cancel_session(
    db: Database, app: Celery, bus: EventBus, session_id: str, *, owner: str | None = None
) -> ReplaySessionRecord:
    """Mark the session cancelled (409 when it already finished), then revoke its task.

    The store is what the worker obeys: it stops at its next progress report even when the
    revoke does not reach it (the embedded broker carries no broadcast commands)."""
    with db.session() as s:
        record = ReplaySessions(s).cancel(session_id, owner=owner)
    Reporter(db, bus, session_id).publish(record)
    revoke(app, record.task_id or record.id)
    return record


def revoke(app: Celery, task_id: str) -> None:
    """Revoke (and terminate) a task; a broker problem is logged, not raised."""
    try:
        ensure_broker(app)
        app.control.revoke(task_id, terminate=True)
    except (BrokerUnreachableError, OSError) as exc:
        log.warning("revoke not delivered", task_id=task_id, error=str(exc))


def ensure_broker(app: Celery) -> None:
    """BrokerUnreachableError unless the broker answers within `BROKER_TIMEOUT`."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=1, timeout=BROKER_TIMEOUT
            )
    except Exception as exc:
        raise BrokerUnreachableError(
            f"the task broker is unreachable ({type(exc).__name__}: {exc}); check "
            "CELERY_BROKER_URL and that the broker is up"
        ) from exc


def inspect(app: Celery, call: Callable[[Any], T]) -> T:
    """Run a Celery inspect call with a short reply timeout, after checking the broker."""
    ensure_broker(app)
    try:
        return call(app.control.inspect(timeout=INSPECT_TIMEOUT))
    except Exception as exc:
        raise BrokerUnreachableError(
            f"could not ask the workers ({type(exc).__name__}: {exc})"
        ) from exc


def broadcast_note(app: Celery) -> str | None:
    """Why inspect answers may be empty with this broker."""
    if str(app.conf.broker_url).startswith("sqla+"):
        return (
            "the embedded broker (no CELERY_BROKER_URL) carries no broadcast commands, so "
            "workers cannot be inspected; set CELERY_BROKER_URL to Redis or RabbitMQ"
        )
    return None
