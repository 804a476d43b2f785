"""Response bodies of the API (requests are in `timemachine.models.requests`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from timemachine.models.sessions import ReplaySessionRecord, SessionResultRecord, SessionStatus


class ErrorBody(BaseModel):
    """Every error answer (except request validation, which keeps FastAPI's 422 shape)."""

    error: str = Field(description="The error class, e.g. NotFoundError.")
    detail: str = Field(description="What went wrong and what to do next.")


class RequestErrors(BaseModel):
    """FastAPI's 422 shape for a request that fails validation: one entry per problem."""

    detail: list[dict[str, Any]]


class SessionLinks(BaseModel):
    status: str
    result: str
    report: str
    cancel: str
    websocket: str


class SessionStarted(BaseModel):
    """Answer to a start request (HTTP 202): the session is queued."""

    session_id: str
    task_id: str
    status: SessionStatus
    message: str
    links: SessionLinks


class SessionStatusPublic(BaseModel):
    """`GET /api/time-machine/replay/{session_id}/status`."""

    session_id: str
    kind: str
    status: SessionStatus
    progress: float
    stage: str | None
    error: str | None
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None
    links: SessionLinks


class SessionDetail(BaseModel):
    """A session with every stored result."""

    session: ReplaySessionRecord
    results: list[SessionResultRecord]


class DeletedBody(BaseModel):
    session_id: str
    deleted: bool
    cancelled: bool = False


class CleanupCount(BaseModel):
    deleted: int
    failed_stale: int


class TaskQueued(BaseModel):
    task_id: str
    task: str
    status: str = "queued"


class TaskStatus(BaseModel):
    task_id: str
    state: str = Field(description="Celery state: PENDING, STARTED, SUCCESS, FAILURE, ...")
    result: Any = None
    session: ReplaySessionRecord | None = None


class ActiveTasks(BaseModel):
    workers_replied: int
    tasks: list[dict[str, Any]]
    note: str | None = None


class WorkersBody(BaseModel):
    workers: dict[str, Any]
    note: str | None = None


def links_for(session_id: str) -> SessionLinks:
    base = f"/api/time-machine/replay/{session_id}"
    return SessionLinks(
        status=f"{base}/status",
        result=f"/api/time-machine/sessions/{session_id}",
        report=f"/api/time-machine/sessions/{session_id}/report?format=html",
        cancel=f"{base}/cancel",
        websocket=f"/ws/sessions/{session_id}",
    )


def status_of(record: ReplaySessionRecord) -> SessionStatusPublic:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return SessionStatusPublic(
        session_id=record.id,
        kind=record.kind.value,
        status=record.status,
        progress=record.progress,
        stage=record.stage,
        error=record.error,
        created_at=record.created_at.isoformat(),
        updated_at=record.updated_at.isoformat(),
        started_at=iso(record.started_at),
        finished_at=iso(record.finished_at),
        links=links_for(record.id),
    )
