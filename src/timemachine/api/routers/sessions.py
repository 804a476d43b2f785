"""A user's sessions: list, full result, report, delete.

Sessions belong to the user who started them (their user id is the session's `owner`). Another
user's session answers 404, as if it did not exist (not 403: ids must not leak); admins see all.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from timemachine.analysis.report import render_markdown
from timemachine.analysis.report_html import render_html
from timemachine.api.auth import Analyst, Reader, record
from timemachine.api.deps import Db, Limit, Offset
from timemachine.api.routers.replay import ERRORS
from timemachine.api.schemas import DeletedBody, SessionDetail
from timemachine.errors import ConflictError, NotFoundError
from timemachine.models.analysis import AnalysisReport
from timemachine.models.bounds import RowIndex
from timemachine.models.replay import ReplayResult
from timemachine.models.sessions import Page, ReplaySessionRecord, SessionStatus
from timemachine.security.audit import Action
from timemachine.store import ReplaySessions, Users

router = APIRouter(prefix="/api/time-machine/sessions", tags=["sessions"])


@router.get("", response_model=Page[ReplaySessionRecord], responses=ERRORS)
def list_sessions(
    principal: Reader,
    db: Db,
    owner: Annotated[
        str | None,
        Query(max_length=64, description="Admins: only this user's (username); others: ignored."),
    ] = None,
    user_id: Annotated[
        str | None, Query(max_length=200, description="Ignored (kept for old clients).")
    ] = None,
    status: SessionStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ReplaySessionRecord]:
    """Your sessions, newest first (admins: everybody's, or one user's with `owner`)."""
    with db.session() as s:
        scope = principal.owner_scope
        if scope is None and owner is not None:
            user = Users(s).by_username(owner)
            scope = user.id if user is not None else owner
        return ReplaySessions(s).list_by_owner(scope, status=status, limit=limit, offset=offset)


@router.get("/{session_id}", response_model=SessionDetail, responses=ERRORS)
def session_detail(session_id: str, principal: Reader, db: Db) -> Response:
    """The session and every stored per-transaction result (replay and analysis)."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        session = sessions.require(session_id, owner=principal.owner_scope)
        results = sessions.results(session_id)
    # The stored results go out as stored: a deep re-entrancy's call tree nests past the depth
    # pydantic's serializer accepts (the response model still documents the shape).
    detail = {
        "session": session.model_dump(mode="json"),
        "results": [
            {
                **result.model_dump(mode="json", exclude={"replay", "analysis"}),
                "replay": result.replay,
                "analysis": result.analysis,
            }
            for result in results
        ],
    }
    return Response(json.dumps(detail), media_type=_MEDIA["json"])


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
    principal: Reader,
    db: Db,
    format: Literal["json", "md", "html"] = "json",
    tx_index: Annotated[RowIndex, Query()] = 0,
) -> Response:
    """The analysis report of one transaction of the session, as JSON, Markdown or HTML.

    HTML includes the call tree, which is stored only with `options.detailed_tracing`."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        session = sessions.require(session_id, owner=principal.owner_scope)
        results = {r.tx_index: r for r in sessions.results(session_id)}
    stored = results.get(tx_index)
    if stored is None or stored.analysis is None:
        if not session.status.is_terminal:
            raise ConflictError(
                f"session {session_id} is {session.status}; its report is ready when it completes"
            )
        if stored is None:
            raise NotFoundError(
                f"session {session_id} ({session.status}) has no result for tx_index {tx_index}"
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
def delete_session(
    session_id: str,
    request: Request,
    principal: Analyst,
    db: Db,
    user_id: Annotated[
        str | None, Query(max_length=200, description="Ignored (kept for old clients).")
    ] = None,
) -> DeletedBody:
    """Delete one of your finished sessions (admins: any) and its results; 409 while it is
    pending or running (cancel it first)."""
    with db.session() as s:
        deleted = ReplaySessions(s).delete(session_id, owner=principal.owner_scope)
    if not deleted:
        raise NotFoundError(f"no session {session_id!r}; list your sessions to find its id")
    record(request, Action.SESSION_DELETE, actor=principal, resource=f"session:{session_id}")
    return DeletedBody(session_id=session_id, deleted=True)
