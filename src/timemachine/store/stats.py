"""Aggregates over stored sessions for operations (metrics, health): counts by status and the
durations of recently finished sessions. Read-only; bounded queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timemachine.models.sessions import SessionKind, SessionStatus
from timemachine.store.tables import ReplaySession

RECENT_DURATIONS = 1000
"""How many of the newest completed sessions feed the replay latency figures."""


def sessions_by_status(db_session: Session) -> dict[SessionStatus, int]:
    """How many sessions are in each status (every status present, zero when none)."""
    counts = {status: 0 for status in SessionStatus}
    rows = db_session.execute(
        select(ReplaySession.status, func.count()).group_by(ReplaySession.status)
    ).all()
    for status, count in rows:
        counts[SessionStatus(status)] = int(count)
    return counts


@dataclass(frozen=True)
class Duration:
    """How long one completed session ran (started → finished), in seconds."""

    kind: SessionKind
    seconds: float


def recent_durations(db_session: Session, limit: int = RECENT_DURATIONS) -> list[Duration]:
    """Run times of the newest `limit` completed sessions."""
    rows = db_session.execute(
        select(ReplaySession.kind, ReplaySession.started_at, ReplaySession.finished_at)
        .where(
            ReplaySession.status == SessionStatus.COMPLETED.value,
            ReplaySession.started_at.is_not(None),
            ReplaySession.finished_at.is_not(None),
        )
        .order_by(ReplaySession.finished_at.desc())
        .limit(limit)
    ).all()
    durations = []
    for kind, started, finished in rows:
        if started is not None and finished is not None:
            seconds = max(0.0, (finished - started).total_seconds())
            durations.append(Duration(SessionKind(kind), seconds))
    return durations
