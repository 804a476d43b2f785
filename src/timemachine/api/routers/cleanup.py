"""Housekeeping on demand (beat runs the same work on a schedule)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from timemachine.api.auth import Admin, record
from timemachine.api.deps import Bus, Db, Queue
from timemachine.api.routers.replay import ERRORS
from timemachine.api.schemas import CleanupCount, DeletedBody, TaskQueued
from timemachine.api.session_control import cancel_session
from timemachine.errors import BrokerUnavailableError, BrokerUnreachableError, NotFoundError
from timemachine.security.audit import Action
from timemachine.store import ReplaySessions
from timemachine.tasks.cleanup_tasks import STALE_SECONDS

router = APIRouter(prefix="/api/cleanup", tags=["cleanup"])
MAX_HOURS = 24 * 365 * 10
CLEANUP_EXPIRED_FORKS = "tasks.cleanup_tasks.cleanup_expired_forks"
CLEANUP_TEMP_FILES = "tasks.cleanup_tasks.cleanup_temp_files"


@router.post("/session/{session_id}", response_model=DeletedBody, responses=ERRORS)
def cleanup_session(
    session_id: str, request: Request, admin: Admin, db: Db, queue: Queue, bus: Bus
) -> DeletedBody:
    """Remove a session and its results, cancelling it first when it is still active."""
    with db.session() as s:
        found = ReplaySessions(s).require(session_id)
    cancelled = False
    if not found.status.is_terminal:
        cancel_session(db, queue, bus, session_id)
        cancelled = True
    with db.session() as s:
        deleted = ReplaySessions(s).delete(session_id)
    if not deleted:
        raise NotFoundError(f"no session {session_id!r}")
    record(request, Action.CLEANUP, actor=admin, resource=f"session:{session_id}",
           detail={"what": "session", "cancelled": cancelled})  # fmt: skip
    return DeletedBody(session_id=session_id, deleted=True, cancelled=cancelled)


@router.post("/old-sessions", response_model=CleanupCount, responses=ERRORS)
def cleanup_old_sessions(
    request: Request,
    admin: Admin,
    db: Db,
    age_hours: Annotated[float, Query(ge=0, le=MAX_HOURS)] = 24 * 7,
) -> CleanupCount:
    """Delete sessions finished more than `age_hours` ago; fail running ones whose worker died."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        deleted = sessions.delete_finished_before(age_hours)
        stale = sessions.fail_stale(STALE_SECONDS)
    record(request, Action.CLEANUP, actor=admin, resource="sessions",
           detail={"what": "old-sessions", "age_hours": age_hours, "deleted": deleted,
                   "failed_stale": stale})  # fmt: skip
    return CleanupCount(deleted=deleted, failed_stale=stale)


def _queue(
    request: Request, admin: Admin, queue: Queue, name: str, kwargs: dict[str, float]
) -> TaskQueued:
    queue.ensure_reachable()
    try:
        job_id = queue.enqueue(name, kwargs=kwargs)
    except BrokerUnavailableError as exc:
        raise BrokerUnreachableError(str(exc)) from exc
    record(request, Action.CLEANUP, actor=admin, resource=f"task:{job_id}",
           detail={"what": name.rsplit(".", 1)[-1], **kwargs})  # fmt: skip
    return TaskQueued(task_id=job_id, task=name)


@router.post("/expired-forks", response_model=TaskQueued, status_code=202, responses=ERRORS)
def cleanup_expired_forks(
    request: Request,
    admin: Admin,
    queue: Queue,
    expiry_hours: Annotated[float | None, Query(gt=0, le=MAX_HOURS)] = None,
) -> TaskQueued:
    """Queue the stop of forks idle longer than `expiry_hours` (default: the fork TTL).

    Forks live inside worker processes: the task reaps the forks of the worker that runs it."""
    kwargs = {} if expiry_hours is None else {"expiry_hours": expiry_hours}
    return _queue(request, admin, queue, CLEANUP_EXPIRED_FORKS, kwargs)


@router.post("/temp-files", response_model=TaskQueued, status_code=202, responses=ERRORS)
def cleanup_temp_files(
    request: Request,
    admin: Admin,
    queue: Queue,
    age_hours: Annotated[float, Query(ge=0, le=MAX_HOURS)] = 24,
) -> TaskQueued:
    """Queue the removal of scratch files older than `age_hours`."""
    return _queue(request, admin, queue, CLEANUP_TEMP_FILES, {"age_hours": age_hours})
