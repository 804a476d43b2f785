"""Celery: a task's state, the active tasks, the workers."""

from __future__ import annotations

from typing import Any

from celery.result import AsyncResult
from fastapi import APIRouter

from timemachine.api.actions import BrokerUnreachableError, broadcast_note, inspect
from timemachine.api.auth import Admin, Reader
from timemachine.api.deps import CeleryApp, Db
from timemachine.api.routers.replay import ERRORS
from timemachine.api.schemas import ActiveTasks, TaskStatus, WorkersBody
from timemachine.errors import NotFoundError
from timemachine.store import ReplaySessions

router = APIRouter(tags=["tasks"])


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return repr(value)


@router.get("/api/tasks/{task_id}/status", response_model=TaskStatus, responses=ERRORS)
def task_status(task_id: str, principal: Reader, db: Db, app: CeleryApp) -> TaskStatus:
    """The Celery state of a task and, for session tasks (task id = session id), the session.

    Non-admins may ask only about their own sessions' tasks (anything else: 404)."""
    with db.session() as s:
        session = ReplaySessions(s).get(task_id, owner=principal.owner_scope)
    if session is None and not principal.is_admin:
        raise NotFoundError(f"no task {task_id!r} of yours")
    try:
        result: AsyncResult[Any] = AsyncResult(task_id, app=app)
        state = str(result.state)
        value = _jsonable(result.result) if result.ready() else None
    except Exception as exc:
        raise BrokerUnreachableError(
            f"the result backend did not answer ({type(exc).__name__}: {exc})"
        ) from exc
    return TaskStatus(task_id=task_id, state=state, result=value, session=session)


@router.get("/api/tasks/active", response_model=ActiveTasks, responses=ERRORS)
def active_tasks(admin: Admin, app: CeleryApp) -> ActiveTasks:
    """Tasks the workers are executing now (asked with a 1 s reply timeout)."""
    replies = inspect(app, lambda i: i.active()) or {}
    tasks = [
        {"worker": worker, **{k: _jsonable(v) for k, v in task.items()}}
        for worker, running in replies.items()
        for task in running or []
    ]
    return ActiveTasks(workers_replied=len(replies), tasks=tasks, note=broadcast_note(app))


@router.get("/api/celery/workers", response_model=WorkersBody, responses=ERRORS)
def workers(admin: Admin, app: CeleryApp) -> WorkersBody:
    """The workers that answered a ping within 1 s, with their stats."""
    stats = inspect(app, lambda i: i.stats()) or {}
    return WorkersBody(
        workers={name: _jsonable(value) for name, value in stats.items()},
        note=broadcast_note(app),
    )
