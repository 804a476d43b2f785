"""The job queue: a task's state, the active tasks, the workers."""

from __future__ import annotations

from fastapi import APIRouter

from timemachine.api.auth import Admin, Reader
from timemachine.api.deps import Db, Queue
from timemachine.api.routers.replay import ERRORS
from timemachine.api.schemas import ActiveTasks, TaskStatus, WorkersBody
from timemachine.errors import NotFoundError
from timemachine.store import ReplaySessions
from timemachine.tasks.queue import jsonable

router = APIRouter(tags=["tasks"])


@router.get("/api/tasks/{task_id}/status", response_model=TaskStatus, responses=ERRORS)
def task_status(task_id: str, principal: Reader, db: Db, queue: Queue) -> TaskStatus:
    """The Celery state of a task and, for session tasks (task id = session id), the session.

    Non-admins may ask only about their own sessions' tasks (anything else: 404)."""
    with db.session() as s:
        session = ReplaySessions(s).get(task_id, owner=principal.owner_scope)
    if session is None and not principal.is_admin:
        raise NotFoundError(f"no task {task_id!r} of yours")
    job = queue.status(task_id)
    return TaskStatus(task_id=task_id, state=job.state, result=job.result, session=session)


@router.get("/api/tasks/active", response_model=ActiveTasks, responses=ERRORS)
def active_tasks(admin: Admin, queue: Queue) -> ActiveTasks:
    """Tasks the workers are executing now (asked with a 1 s reply timeout)."""
    replies = queue.active()
    tasks = [
        {"worker": worker, **{k: jsonable(v) for k, v in task.items()}}
        for worker, running in replies.items()
        for task in running or []
    ]
    return ActiveTasks(workers_replied=len(replies), tasks=tasks, note=queue.broadcast_note())


@router.get("/api/celery/workers", response_model=WorkersBody, responses=ERRORS)
def workers(admin: Admin, queue: Queue) -> WorkersBody:
    """The workers that answered a ping within 1 s, with their stats."""
    stats = queue.workers()
    return WorkersBody(
        workers={name: jsonable(value) for name, value in stats.items()},
        note=queue.broadcast_note(),
    )
