"""Replay sessions and their per-transaction results.

Every state change is one atomic UPDATE whose WHERE clause holds the precondition (the statuses a
transition may start from; `running` for progress), so two connections racing on one session
never lose an update: on PostgreSQL the second UPDATE waits for the first's row lock and then
re-checks its WHERE clause against the committed row; on SQLite writers are serialized by
`BEGIN IMMEDIATE`. A precondition that no longer holds is a `ConflictError` naming the status found.

Calls that take `owner` are scoped to it: another owner's session is "not found" (None from `get`,
NotFoundError elsewhere), never "forbidden", so ids of other users' sessions do not leak.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, Text, and_, case, delete, func, or_, select, update
from sqlalchemy import cast as sql_cast

from timemachine.errors import ConflictError, InvalidInputError, NotFoundError
from timemachine.models.choices import member
from timemachine.models.sessions import (
    ALLOWED_TRANSITIONS,
    TERMINAL_STATUSES,
    Page,
    ReplaySessionRecord,
    SessionKind,
    SessionResultRecord,
    SessionStatus,
)
from timemachine.store.rows import (
    Repository,
    json_payload,
    owner_id,
    paged,
    percent,
    stored,
    upsert,
)
from timemachine.store.tables import ReplaySession, SessionResult

Clock = Callable[[], dt.datetime]
_TERMINAL = sorted(status.value for status in TERMINAL_STATUSES)


class SessionStateRow(NamedTuple):
    """What a session's events carry (`orchestration.progress.session_event`), read without the
    request and results."""

    id: str
    kind: str
    status: str
    progress: float
    stage: str | None
    error: str | None
    attempts: int
    updated_at: dt.datetime


class RawSessionResult(NamedTuple):
    """A stored result whose replay and analysis are JSON text as stored (None: not stored)."""

    session_id: str
    tx_index: int
    tx_hash: str | None
    replay_json: str | None
    analysis_json: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ReplaySessions(Repository):
    """Repository of replay sessions, bound to one database session (one transaction)."""

    # -- create and read ---------------------------------------------------------------------

    def create(
        self,
        *,
        owner: str,
        kind: SessionKind | str,
        request: Mapping[str, Any],
        session_id: str | None = None,
        task_id: str | None = None,
    ) -> ReplaySessionRecord:
        """A new pending session (id: a random UUID unless given)."""
        owner = owner_id(owner)
        parsed_kind = member(SessionKind, kind, "session kind")
        payload = json_payload(dict(request), what="the session request")
        new_id = session_id or str(uuid.uuid4())
        if self.db_session.get(ReplaySession, new_id) is not None:
            raise ConflictError(f"session {new_id} already exists; choose another id")
        now = self.clock()
        row = ReplaySession(
            id=new_id,
            owner=owner,
            kind=parsed_kind.value,
            request=payload,
            status=SessionStatus.PENDING.value,
            progress=0.0,
            task_id=task_id,
            created_at=now,
            updated_at=now,
        )
        return stored(self.db_session, row, ReplaySessionRecord.model_validate)

    def get(self, session_id: str, *, owner: str | None = None) -> ReplaySessionRecord | None:
        """The session, or None when it does not exist or belongs to another owner."""
        row = self._row(session_id, owner=owner)
        return ReplaySessionRecord.model_validate(row) if row is not None else None

    def states(self, session_ids: list[str]) -> dict[str, SessionStateRow]:
        """The state columns (not the request) of the sessions that exist among `session_ids`,
        by id: one light query per 500 ids, for the WebSocket poll."""
        columns = [getattr(ReplaySession, name) for name in SessionStateRow._fields]
        found: dict[str, SessionStateRow] = {}
        for start in range(0, len(session_ids), 500):
            chunk = session_ids[start : start + 500]
            for row in self.db_session.execute(select(*columns).where(ReplaySession.id.in_(chunk))):
                found[row.id] = SessionStateRow(*row)
        return found

    def require(self, session_id: str, *, owner: str | None = None) -> ReplaySessionRecord:
        """The session, or NotFoundError."""
        record = self.get(session_id, owner=owner)
        if record is None:
            raise _not_found(session_id)
        return record

    def count_active(self, owner: str) -> int:
        """How many pending or running sessions `owner` has."""
        active = [SessionStatus.PENDING.value, SessionStatus.RUNNING.value]
        statement = (
            select(func.count())
            .select_from(ReplaySession)
            .where(ReplaySession.owner == owner, ReplaySession.status.in_(active))
        )
        return self.db_session.scalar(statement) or 0

    def list_by_owner(
        self,
        owner: str | None,
        *,
        status: SessionStatus | str | None = None,
        kind: SessionKind | str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[ReplaySessionRecord]:
        """The owner's sessions (every owner's for None), newest first, optionally of one status
        and/or kind."""
        conditions = [] if owner is None else [ReplaySession.owner == owner]
        if status is not None:
            conditions.append(
                ReplaySession.status == member(SessionStatus, status, "session status").value
            )
        if kind is not None:
            conditions.append(ReplaySession.kind == member(SessionKind, kind, "session kind").value)
        query = (
            select(ReplaySession)
            .where(*conditions)
            .order_by(ReplaySession.created_at.desc(), ReplaySession.id.desc())
        )
        return paged(self.db_session, query, ReplaySessionRecord, limit=limit, offset=offset)

    # -- status ------------------------------------------------------------------------------

    def transition(
        self,
        session_id: str,
        to: SessionStatus | str,
        *,
        owner: str | None = None,
        error: str | None = None,
        stage: str | None = None,
        fork_id: str | None = None,
        task_id: str | None = None,
    ) -> ReplaySessionRecord:
        """Move the session to `to` if `ALLOWED_TRANSITIONS` permits it from its current status.

        Sets `started_at` on running, `finished_at` on a terminal status, progress 100 on
        completed. Raises NotFoundError or ConflictError (the session is left unchanged).
        """
        target = member(SessionStatus, to, "session status")
        sources = [s.value for s, targets in ALLOWED_TRANSITIONS.items() if target in targets]
        now = self.clock()
        values: dict[str, Any] = {"status": target.value, "updated_at": now}
        if target is SessionStatus.RUNNING:
            values["started_at"] = now
        if target.is_terminal:
            values["finished_at"] = now
        if target is SessionStatus.COMPLETED:
            values["progress"] = 100.0
        for name, value in (
            ("error", error),
            ("stage", stage),
            ("fork_id", fork_id),
            ("task_id", task_id),
        ):
            if value is not None:
                values[name] = value
        conditions = [ReplaySession.id == session_id, ReplaySession.status.in_(sources)]
        if owner is not None:
            conditions.append(ReplaySession.owner == owner)
        if self._update(conditions, values) == 0:
            current = self.require(session_id, owner=owner)
            allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current.status])) or "none (final)"
            raise ConflictError(
                f"session {session_id} is {current.status}; it cannot become {target} "
                f"(allowed from {current.status}: {allowed})"
            )
        return self.require(session_id)

    def start(
        self, session_id: str, *, task_id: str | None = None, fork_id: str | None = None
    ) -> ReplaySessionRecord:
        """pending → running."""
        return self.transition(session_id, SessionStatus.RUNNING, task_id=task_id, fork_id=fork_id)

    def complete(self, session_id: str) -> ReplaySessionRecord:
        """running → completed."""
        return self.transition(session_id, SessionStatus.COMPLETED)

    def fail(self, session_id: str, error: str) -> ReplaySessionRecord:
        """pending | running → failed, with the reason."""
        return self.transition(session_id, SessionStatus.FAILED, error=error)

    def cancel(self, session_id: str, *, owner: str | None = None) -> ReplaySessionRecord:
        """pending | running → cancelled (a finished session raises ConflictError)."""
        return self.transition(session_id, SessionStatus.CANCELLED, owner=owner)

    def update_progress(
        self, session_id: str, progress: float, *, stage: str | None = None
    ) -> ReplaySessionRecord:
        """Report progress of a running session. Progress never goes backwards (an out-of-order
        report keeps the higher value). ConflictError when the session is no longer running: the
        worker should stop (it was cancelled, or marked failed as stale)."""
        value = percent(progress)
        values: dict[str, Any] = {
            "progress": case((ReplaySession.progress > value, ReplaySession.progress), else_=value),
            "updated_at": self.clock(),
        }
        if stage is not None:
            values["stage"] = stage
        conditions = [
            ReplaySession.id == session_id,
            ReplaySession.status == SessionStatus.RUNNING.value,
        ]
        if self._update(conditions, values) == 0:
            current = self.require(session_id)
            raise ConflictError(
                f"session {session_id} is {current.status}, not running; stop working on it"
            )
        return self.require(session_id)

    # -- leases: who runs a session, and re-queueing it when that worker died -------------------

    def claim(
        self, session_id: str, *, holder: str, lease_seconds: float, task_id: str | None = None
    ) -> ReplaySessionRecord | None:
        """Take the session to run it: pending, or running under an expired lease (its worker
        died) → running, held by `holder` for `lease_seconds`, one more attempt, progress back
        to 0. None when someone else holds a live lease or the session ended (or is gone): a
        duplicate delivery, nothing to do."""
        now = self.clock()
        lease_over = or_(
            ReplaySession.lease_expires_at.is_(None), ReplaySession.lease_expires_at < now
        )
        conditions = [
            ReplaySession.id == session_id,
            or_(
                ReplaySession.status == SessionStatus.PENDING.value,
                and_(ReplaySession.status == SessionStatus.RUNNING.value, lease_over),
            ),
        ]
        values: dict[str, Any] = {
            "status": SessionStatus.RUNNING.value,
            "lease_owner": holder,
            "lease_expires_at": now + dt.timedelta(seconds=lease_seconds),
            "attempts": ReplaySession.attempts + 1,
            "progress": 0.0,
            "started_at": now,
            "updated_at": now,
        }
        if task_id is not None:
            values["task_id"] = task_id
        if self._update(conditions, values) == 0:
            return None
        record = self.require(session_id)
        stage = "started" if record.attempts == 1 else restarted_stage(record.attempts)
        self._update([ReplaySession.id == session_id], {"stage": stage})
        return self.require(session_id)

    def renew_lease(self, session_id: str, *, holder: str, lease_seconds: float) -> bool:
        """Extend `holder`'s lease; False when the session is no longer running under it
        (cancelled, finished, deleted, or re-queued and taken by another worker): stop."""
        until = self.clock() + dt.timedelta(seconds=lease_seconds)
        conditions = [
            ReplaySession.id == session_id,
            ReplaySession.status == SessionStatus.RUNNING.value,
            ReplaySession.lease_owner == holder,
        ]
        return self._update(conditions, {"lease_expires_at": until}) == 1

    def expired_leases(self) -> list[str]:
        """Ids of running sessions whose lease expired (or that never had one), oldest first."""
        now = self.clock()
        return list(
            self.db_session.scalars(
                select(ReplaySession.id)
                .where(
                    ReplaySession.status == SessionStatus.RUNNING.value,
                    or_(
                        ReplaySession.lease_expires_at.is_(None),
                        ReplaySession.lease_expires_at < now,
                    ),
                )
                .order_by(ReplaySession.updated_at)
            ).all()
        )

    def requeue(
        self, session_id: str, *, max_attempts: int, force: bool = False
    ) -> ReplaySessionRecord | None:
        """A running session whose worker is gone: back to pending (progress 0, lease dropped),
        to be queued again; or failed once it used `max_attempts` runs (a session that kills its
        worker every time must not loop forever). None when it is no longer running under an
        expired lease (another sweeper or a redelivery got there first). `force`: the caller
        knows the worker is gone although its lease has not expired yet."""
        now = self.clock()
        conditions = [
            ReplaySession.id == session_id,
            ReplaySession.status == SessionStatus.RUNNING.value,
        ]
        if not force:
            conditions.append(
                or_(ReplaySession.lease_expires_at.is_(None), ReplaySession.lease_expires_at < now)
            )
        record = self.get(session_id)
        if record is None:
            return None
        values: dict[str, Any]
        if record.attempts >= max_attempts:
            values = {
                "status": SessionStatus.FAILED.value,
                "error": f"its worker was lost {record.attempts} times while running it (killed "
                "or out of memory?); see the worker logs, then submit the request again",
                "finished_at": now,
            }
        else:
            values = {
                "status": SessionStatus.PENDING.value,
                "progress": 0.0,
                "stage": f"re-queued: the worker of attempt {record.attempts} was lost",
            }
        values |= {"lease_owner": None, "lease_expires_at": None, "updated_at": now}
        if self._update(conditions, values) == 0:
            return None
        return self.require(session_id)

    # -- results -----------------------------------------------------------------------------

    def store_result(
        self,
        session_id: str,
        tx_index: int,
        *,
        tx_hash: str | None = None,
        replay: Mapping[str, Any] | None = None,
        analysis: Mapping[str, Any] | None = None,
    ) -> SessionResultRecord:
        """Store (or complete) the result of the session's `tx_index`-th transaction.

        Only while the session is running. A part not given (None) keeps what is stored, so the
        analysis can be added after the replay. Payloads are checked before anything is written.
        """
        if tx_index < 0:
            raise InvalidInputError(f"tx_index must be 0 or more, got {tx_index}")
        if replay is None and analysis is None:
            raise InvalidInputError("store_result needs a replay result, an analysis, or both")
        replay_json = json_payload(dict(replay) if replay is not None else None, what="replay")
        analysis_json = json_payload(
            dict(analysis) if analysis is not None else None, what="analysis"
        )
        hash_value = tx_hash.strip().lower() if tx_hash is not None else None
        # Lock the session row: a concurrent cancel either commits first (we see it and refuse)
        # or waits for this transaction (and the result is stored before the cancellation).
        status = self.db_session.scalar(
            select(ReplaySession.status).where(ReplaySession.id == session_id).with_for_update()
        )
        if status is None:
            raise _not_found(session_id)
        if status != SessionStatus.RUNNING.value:
            raise ConflictError(
                f"session {session_id} is {status}; results are stored only while it runs"
            )
        now = self.clock()
        row: dict[str, Any] = {
            "session_id": session_id,
            "tx_index": tx_index,
            "tx_hash": hash_value,
            "replay": replay_json,
            "analysis": analysis_json,
            "created_at": now,
            "updated_at": now,
        }
        changed = ["updated_at"] + [
            name for name in ("tx_hash", "replay", "analysis") if row[name] is not None
        ]
        table = SessionResult.__table__
        self.db_session.execute(
            upsert(self.db_session, table, [row], keys=["session_id", "tx_index"], update=changed)  # type: ignore[arg-type]
        )
        self.db_session.execute(
            update(ReplaySession).where(ReplaySession.id == session_id).values(updated_at=now)
        )
        stored = self.db_session.scalars(
            select(SessionResult)
            .where(SessionResult.session_id == session_id, SessionResult.tx_index == tx_index)
            .execution_options(populate_existing=True)
        ).one()
        return SessionResultRecord.model_validate(stored)

    def results(self, session_id: str, *, owner: str | None = None) -> list[SessionResultRecord]:
        """The session's results in transaction order (NotFoundError for another owner's)."""
        self.require(session_id, owner=owner)
        rows = self.db_session.scalars(
            select(SessionResult)
            .where(SessionResult.session_id == session_id)
            .order_by(SessionResult.tx_index)
            .execution_options(populate_existing=True)
        ).all()
        return [SessionResultRecord.model_validate(row) for row in rows]

    def tx_indexes(self, session_id: str) -> list[int]:
        """The transaction indexes the session has results for, in order (no payloads read)."""
        return list(
            self.db_session.scalars(
                select(SessionResult.tx_index)
                .where(SessionResult.session_id == session_id)
                .order_by(SessionResult.tx_index)
            )
        )

    def raw_result(self, session_id: str, tx_index: int) -> RawSessionResult | None:
        """The result of the session's `tx_index`-th transaction with its replay and analysis as
        the stored JSON text, not decoded: a big call tree is megabytes, served as it is."""
        row = self.db_session.execute(
            select(
                SessionResult.session_id,
                SessionResult.tx_index,
                SessionResult.tx_hash,
                sql_cast(SessionResult.replay, Text),
                sql_cast(SessionResult.analysis, Text),
                SessionResult.created_at,
                SessionResult.updated_at,
            ).where(SessionResult.session_id == session_id, SessionResult.tx_index == tx_index)
        ).one_or_none()
        return None if row is None else RawSessionResult(*row)

    # -- removal and housekeeping ------------------------------------------------------------

    def delete(self, session_id: str, *, owner: str | None = None, force: bool = False) -> bool:
        """Delete a finished session and its results; False when there is none (for `owner`).

        A pending or running session raises ConflictError unless `force` (cancel it first, so
        its worker stops and releases its fork)."""
        conditions = [ReplaySession.id == session_id]
        if owner is not None:
            conditions.append(ReplaySession.owner == owner)
        if not force:
            conditions.append(ReplaySession.status.in_(_TERMINAL))
        if self._delete(conditions):
            return True
        current = self.get(session_id, owner=owner)
        if current is None:
            return False
        raise ConflictError(
            f"session {session_id} is {current.status}; cancel it before deleting it"
        )

    def delete_finished_before(self, hours: float) -> int:
        """Delete sessions that finished more than `hours` ago (with their results); the count.

        Sessions still pending or running are never deleted here."""
        if hours < 0:
            raise InvalidInputError(f"hours must be 0 or more, got {hours}")
        cutoff = self.clock() - dt.timedelta(hours=hours)
        return self._delete(
            [ReplaySession.status.in_(_TERMINAL), ReplaySession.finished_at < cutoff]
        )

    def fail_stale(self, seconds: float) -> int:
        """Mark running sessions with no update for `seconds` and no live lease as failed; the
        count. A live worker renews its lease, and any live worker re-queues sessions whose lease
        expired, so this only catches sessions left when no worker has run for that long."""
        if seconds <= 0:
            raise InvalidInputError(f"seconds must be positive, got {seconds}")
        now = self.clock()
        cutoff = now - dt.timedelta(seconds=seconds)
        return self._update(
            [
                ReplaySession.status == SessionStatus.RUNNING.value,
                ReplaySession.updated_at < cutoff,
                or_(
                    ReplaySession.lease_expires_at.is_(None),
                    ReplaySession.lease_expires_at < now,
                ),
            ],
            {
                "status": SessionStatus.FAILED.value,
                "error": f"the worker stopped reporting (no update for {seconds:g} s); "
                "submit the request again",
                "updated_at": now,
                "finished_at": now,
            },
        )

    # -- internals ---------------------------------------------------------------------------

    def _row(self, session_id: str, *, owner: str | None) -> ReplaySession | None:
        statement = (
            select(ReplaySession)
            .where(ReplaySession.id == session_id)
            .execution_options(populate_existing=True)
        )
        if owner is not None:
            statement = statement.where(ReplaySession.owner == owner)
        return self.db_session.scalars(statement).one_or_none()

    def _update(self, conditions: list[Any], values: dict[str, Any]) -> int:
        statement = (
            update(ReplaySession)
            .where(*conditions)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        result = cast(CursorResult[Any], self.db_session.execute(statement))
        return int(result.rowcount)

    def _delete(self, conditions: list[Any]) -> int:
        statement = (
            delete(ReplaySession).where(*conditions).execution_options(synchronize_session=False)
        )
        result = cast(CursorResult[Any], self.db_session.execute(statement))
        return int(result.rowcount)


def restarted_stage(attempt: int) -> str:
    """The stage a re-run starts with: it says the progress restarted, and why."""
    return f"restarted (attempt {attempt}): the previous worker was lost; progress starts over"


def _not_found(session_id: str) -> NotFoundError:
    return NotFoundError(f"no session {session_id!r}; list your sessions to find its id")
