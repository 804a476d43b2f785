"""A user's sessions: list, full result, report, delete.

Until authentication exists (issue 6) the owner is the `user_id` a session was started with
(default "anonymous"); reading a session by id is open to whoever knows the id.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from timemachine.analysis.report import render_markdown
from timemachine.analysis.report_html import render_html
from timemachine.api.deps import Db, owner_of
from timemachine.api.routers.replay import ERRORS
from timemachine.api.schemas import DeletedBody, SessionDetail
from timemachine.errors import ConflictError, NotFoundError
from timemachine.models.analysis import AnalysisReport
from timemachine.models.replay import ReplayResult
from timemachine.models.sessions import Page, ReplaySessionRecord, SessionStatus
from timemachine.store import ReplaySessions

router = APIRouter(prefix="/api/time-machine/sessions", tags=["sessions"])


@router.get("", response_model=Page[ReplaySessionRecord], responses=ERRORS)
def list_sessions(
    db: Db,
    user_id: str | None = None,
    status: SessionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ReplaySessionRecord]:
    """The sessions of `user_id` (default: anonymous), newest first."""
    with db.session() as s:
        return ReplaySessions(s).list_by_owner(
            owner_of(user_id), status=status, limit=limit, offset=offset
        )


@router.get("/{session_id}", response_model=SessionDetail, responses=ERRORS)
def session_detail(session_id: str, db: Db) -> SessionDetail:
    """The session and every stored per-transaction result (replay and analysis)."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        record = sessions.require(session_id)
        results = sessions.results(session_id)
    return SessionDetail(session=record, results=results)


_MEDIA = {
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


@router.get(
    "/{session_id}/report",
    responses=ERRORS | {200: {"content": {media: {} for media in _MEDIA.values()}}},
)
def session_report(
    session_id: str,
    db: Db,
    format: Literal["json", "md", "html"] = "json",
    tx_index: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The analysis report of one transaction of the session, as JSON, Markdown or HTML.

    HTML includes the call tree, which is stored only with `options.detailed_tracing`."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        record = sessions.require(session_id)
        results = {r.tx_index: r for r in sessions.results(session_id)}
    stored = results.get(tx_index)
    if stored is None or stored.analysis is None:
        if not record.status.is_terminal:
            raise ConflictError(
                f"session {session_id} is {record.status}; its report is ready when it completes"
            )
        if stored is None:
            raise NotFoundError(
                f"session {session_id} ({record.status}) has no result for tx_index {tx_index}"
            )
        raise NotFoundError(
            f"session {session_id} stored no analysis; start it with options.include_analysis"
        )
    if format == "json":
        import json

        return Response(json.dumps(stored.analysis), media_type=_MEDIA["json"])
    try:
        report = AnalysisReport.model_validate(stored.analysis)
    except ValidationError:
        raise NotFoundError(
            f"session {session_id} stored a partial analysis (depth basic); "
            "use format=json or analyse at depth standard"
        ) from None
    if format == "md":
        return Response(render_markdown(report), media_type=_MEDIA["md"])
    try:
        result = ReplayResult.model_validate(stored.replay or {})
    except ValidationError:
        raise NotFoundError(
            f"session {session_id} stored no call tree, which the HTML report needs; "
            "start it with options.detailed_tracing (or analysis_depth deep)"
        ) from None
    return Response(render_html(report, result), media_type=_MEDIA["html"])


@router.delete("/{session_id}", response_model=DeletedBody, responses=ERRORS)
def delete_session(session_id: str, db: Db, user_id: str | None = None) -> DeletedBody:
    """Delete a finished session of `user_id` (default anonymous) and its results; 409 while
    it is pending or running (cancel it first)."""
    with db.session() as s:
        deleted = ReplaySessions(s).delete(session_id, owner=owner_of(user_id))
    if not deleted:
        raise NotFoundError(f"no session {session_id!r}; list your sessions to find its id")
    return DeletedBody(session_id=session_id, deleted=True)
