"""The web console: its built files under `/console/`, `/` redirecting there, and its cookie
session (log in, refresh, log out; see `timemachine.api.cookie_session`).

The console is a single-page client of this API (front-end source in `web/`, built by
`make setup` into `web/dist/`). Its pages carry a CSP allowing scripts, styles and connections
from this origin only: nothing is loaded from anywhere else. Logging in goes through the same
code as `POST /api/auth/login` (throttling, lockout delays, audit); the tokens land in cookies
instead of the answer body.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from timemachine.api.auth import Anyone, Reader, current_principal
from timemachine.api.cookie_session import (
    CSRF_COOKIE,
    REFRESH_COOKIE,
    SESSION_COOKIE,
    csrf_matches,
    is_https,
)
from timemachine.api.deps import AppSettings, Db
from timemachine.api.routers import auth
from timemachine.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from timemachine.models.auth import LoginRequest, Me, RefreshRequest, TokenResponse
from timemachine.models.bounds import RowIndex
from timemachine.models.sessions import SessionResultRecord
from timemachine.store import ReplaySessions
from timemachine.store.sessions import RawSessionResult

CONSOLE_PATH = "/console"
REFRESH_PATH = "/api/console"
BUILD_DIR = Path(__file__).resolve().parents[3] / "web" / "dist"
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(prefix="/api/console", tags=["console"])


class ConsoleSession(BaseModel):
    """Who the console's cookies name (None: not logged in) and whether a refresh may help."""

    me: Me | None
    can_refresh: bool = Field(description="A refresh cookie is present: try POST refresh.")


def _set_session(request: Request, response: Response, tokens: TokenResponse) -> None:
    secure = is_https(request)
    response.set_cookie(
        SESSION_COOKIE, tokens.access_token, max_age=int(tokens.expires_in), path="/",
        httponly=True, secure=secure, samesite="strict",
    )  # fmt: skip
    response.set_cookie(
        REFRESH_COOKIE, tokens.refresh_token, max_age=int(tokens.refresh_expires_in),
        path=REFRESH_PATH, httponly=True, secure=secure, samesite="strict",
    )  # fmt: skip
    response.set_cookie(
        CSRF_COOKIE, secrets.token_urlsafe(32), max_age=int(tokens.refresh_expires_in),
        path="/", httponly=False, secure=secure, samesite="strict",
    )  # fmt: skip


def _clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.post("/login", status_code=204, responses=auth.AUTH_ERRORS)
def login(body: LoginRequest, request: Request, db: Db, settings: AppSettings) -> Response:
    """Log in for the console: the tokens of `POST /api/auth/login`, set as cookies."""
    response = Response(status_code=204)
    _set_session(request, response, auth.login(body, request, db, settings))
    return response


@router.get("/session", response_model=ConsoleSession, responses=auth.AUTH_ERRORS)
async def session(request: Request, db: Db) -> ConsoleSession:
    """The console's session, answered 200 either way (a logged-out page load is no error)."""
    try:
        principal = await current_principal(request, None)
    except AuthenticationError:
        return ConsoleSession(me=None, can_refresh=REFRESH_COOKIE in request.cookies)
    return ConsoleSession(me=await asyncio.to_thread(auth.me, principal, db), can_refresh=True)


@router.post("/refresh", status_code=204, responses=auth.AUTH_ERRORS)
def refresh(request: Request, db: Db, settings: AppSettings) -> Response:
    """A fresh access cookie from the refresh cookie (rotated, like `POST /api/auth/refresh`)."""
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise InvalidInputError("no console session cookie: log in at /console/")
    if not csrf_matches(request):
        raise PermissionDeniedError("missing or wrong X-CSRF-Token header")
    response = Response(status_code=204)
    tokens = auth.refresh(RefreshRequest(refresh_token=token), request, db, settings)
    _set_session(request, response, tokens)
    return response


@router.post("/logout", status_code=204, responses=auth.AUTH_ERRORS)
def logout(request: Request, principal: Anyone, db: Db, settings: AppSettings) -> Response:
    """Revoke the console session's tokens (like `POST /api/auth/logout`) and drop its cookies."""
    token = request.cookies.get(REFRESH_COOKIE)
    if token:
        auth.logout(RefreshRequest(refresh_token=token), request, principal, db, settings)
    response = Response(status_code=204)
    _clear_session(response)
    return response


@router.get("/sessions/{session_id}/view", responses=auth.AUTH_ERRORS)
def transaction_view(
    session_id: str,
    request: Request,
    principal: Reader,
    db: Db,
    tx: Annotated[RowIndex, Query()] = 0,
) -> Response:
    """One of your sessions (admins: any), the transaction indexes it has results for, and the
    stored result of transaction `tx`: `{"session", "tx_indexes", "result"}`.

    The stored replay and analysis are spliced into the answer as the database holds them (JSON
    text, never decoded): a 5,000-frame call tree is megabytes, decoding and re-encoding it took
    most of the answer's time, and pydantic's JSON encoder refuses trees nested deeper than 126
    frames (re-entrancy exploits nest deeper). Gzipped when the client accepts it."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        session_record = sessions.require(session_id, owner=principal.owner_scope)
        tx_indexes = sessions.tx_indexes(session_id)
        stored = sessions.raw_result(session_id, tx)
    head = json.dumps({"session": session_record.model_dump(mode="json"), "tx_indexes": tx_indexes})
    body = f'{head[:-1]}, "result": {_spliced_result(stored)}}}'.encode()
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return Response(body, media_type="application/json")
    # Level 1: a few times smaller than the JSON at a fraction of level 6's time.
    compressed = gzip.compress(body, compresslevel=1)
    headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return Response(compressed, media_type="application/json", headers=headers)


def _spliced_result(stored: RawSessionResult | None) -> str:
    """The result's JSON with its stored replay and analysis text inserted as they are."""
    if stored is None:
        return "null"
    fields = stored._asdict()
    replay, analysis = fields.pop("replay_json"), fields.pop("analysis_json")
    head = json.dumps(
        SessionResultRecord(**fields, replay=None, analysis=None).model_dump(
            mode="json", exclude={"replay", "analysis"}
        )
    )
    return f'{head[:-1]}, "replay": {replay or "null"}, "analysis": {analysis or "null"}}}'


def mount_console(app: FastAPI, build_dir: Path = BUILD_DIR) -> None:
    """The console's routes: its API, `/` redirecting to it, and its built files (a clear 404
    when it was not built)."""
    app.include_router(router)
    files = StaticFiles(directory=build_dir, html=True, check_dir=False)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{CONSOLE_PATH}/", status_code=307)

    @app.get(CONSOLE_PATH + "/{path:path}", include_in_schema=False)
    async def console_file(path: str, request: Request) -> Response:
        if not (build_dir / "index.html").is_file():
            raise NotFoundError(f"the console is not built (no {build_dir}): run `make setup`")
        response: Response = await files.get_response(path, request.scope)
        response.headers["Content-Security-Policy"] = CONSOLE_CSP
        if path.startswith("assets/") and response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        return response
