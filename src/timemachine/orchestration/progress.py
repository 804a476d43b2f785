"""Progress of a session: written to the store (the source of truth) and published on the bus."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from timemachine.bus import STATUS_CHANNEL, EventBus, session_channel
from timemachine.errors import ConflictError, NotFoundError, SessionStopped
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.orchestration.leases import Lease
from timemachine.security.outbound import redact_for_users
from timemachine.store import Database, ReplaySessions

SESSIONS_CHANNEL = "sessions"
"""Every session's events (each also goes to its own `session_channel`): what a subscriber
following many sessions at once takes — an API process's one subscription for all its
WebSockets (`timemachine.api.watch`)."""


@contextmanager
def stops_when_gone() -> Iterator[None]:
    """Turn "not running any more" / "no such session" from the store into SessionStopped."""
    try:
        yield
    except (ConflictError, NotFoundError) as exc:
        raise SessionStopped(str(exc)) from exc


class SessionState(Protocol):
    """The fields of a session that its events carry (a full record, or `SessionStateRow`)."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def progress(self) -> float: ...
    @property
    def stage(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def attempts(self) -> int: ...
    @property
    def updated_at(self) -> dt.datetime: ...


def session_event(record: SessionState) -> dict[str, Any]:
    """What WebSocket clients receive about a session: its state, in a few fields. `attempt`
    above 1 means the session is being run again (its worker was lost): progress restarted."""
    return {
        "type": "session",
        "session_id": record.id,
        "kind": str(record.kind),
        "status": str(record.status),
        "progress": record.progress,
        "stage": record.stage,
        "error": record.error,
        "attempt": record.attempts,
        "updated_at": record.updated_at.isoformat(),
    }


@dataclass(frozen=True)
class Reporter:
    """Reports one session's progress and outcome."""

    db: Database
    bus: EventBus
    session_id: str
    lease: Lease | None = None
    """The worker's lease on the session while it runs it; once lost, reports stop the run."""

    def _check_lease(self) -> None:
        if self.lease is not None and self.lease.lost.is_set():
            raise SessionStopped("this worker no longer holds the session's lease")

    def publish(self, record: ReplaySessionRecord) -> None:
        event = session_event(record)
        self.bus.publish(session_channel(record.id), event)
        self.bus.publish(SESSIONS_CHANNEL, event)
        if record.status.is_terminal or record.progress == 0:
            self.bus.publish(STATUS_CHANNEL, event)

    def progress(self, percent: float, stage: str) -> None:
        """Record progress; SessionStopped when the session is no longer running (or no longer
        ours: the lease was lost)."""
        self._check_lease()
        with stops_when_gone(), self.db.session() as s:
            record = ReplaySessions(s).update_progress(self.session_id, percent, stage=stage)
        self.publish(record)

    def complete(self) -> None:
        """running → completed at 100%; SessionStopped if it was cancelled or deleted meanwhile."""
        self._check_lease()
        with stops_when_gone(), self.db.session() as s:
            sessions = ReplaySessions(s)
            sessions.update_progress(self.session_id, 100, stage="completed")
            record = sessions.complete(self.session_id)
        self.publish(record)

    def fail(self, error: str) -> None:
        """Mark the session failed with `error` unless it already ended (e.g. cancelled).
        URLs and addresses in `error` are masked: users see no internal endpoint."""
        error = redact_for_users(error)
        with self.db.session() as s:
            sessions = ReplaySessions(s)
            current = sessions.get(self.session_id)
            if current is None or current.status.is_terminal:
                return
            record = sessions.fail(self.session_id, error)
        self.publish(record)
