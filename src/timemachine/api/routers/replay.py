"""Replay sessions: start (exploit or transactions), status, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from timemachine.api.actions import cancel_session, start_session
from timemachine.api.auth import Analyst, Reader, record
from timemachine.api.deps import AppSettings, Bus, CeleryApp, Db
from timemachine.api.schemas import (
    ErrorBody,
    SessionStarted,
    SessionStatusPublic,
    links_for,
    status_of,
)
from timemachine.catalog.devnet import DEVNET_CHAIN_ID
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.models.requests import ExploitReplayRequest, TransactionsReplayRequest
from timemachine.models.sessions import ReplaySessionRecord, SessionKind
from timemachine.security.audit import Action
from timemachine.security.principal import Principal
from timemachine.service.runtime import has_default_rpc, no_rpc_error
from timemachine.settings import Settings
from timemachine.store import Database, ReplaySessions, get_exploit
from timemachine.store.credentials import has_credential

router = APIRouter(prefix="/api/time-machine/replay", tags=["replay"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 429, 503)
}


def started(session: ReplaySessionRecord) -> SessionStarted:
    return SessionStarted(
        session_id=session.id,
        task_id=session.task_id or session.id,
        status=session.status,
        message="replay queued; follow it on the websocket link or poll the status link",
        links=links_for(session.id),
    )


def start_owned(
    request: Request,
    principal: Principal,
    db: Db,
    app: CeleryApp,
    bus: Bus,
    settings: Settings,
    *,
    kind: SessionKind,
    payload: dict[str, Any],
) -> SessionStarted:
    """Start a session owned by the caller. A `user_id` in the body is not trusted: it is
    replaced by the caller's user id (kept in the request only for seed compatibility)."""
    session = start_session(
        db,
        app,
        bus,
        owner=principal.user_id,
        kind=kind,
        request=payload | {"user_id": principal.user_id},
        max_active=settings.max_active_sessions_per_user,
    )
    record(request, Action.SESSION_START, actor=principal, resource=f"session:{session.id}",
           detail={"kind": kind.value})  # fmt: skip
    return started(session)


@router.post(
    "/exploit/start",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SessionStarted,
    responses=ERRORS,
)
def start_exploit_replay(
    body: ExploitReplayRequest,
    request: Request,
    principal: Analyst,
    db: Db,
    app: CeleryApp,
    bus: Bus,
    settings: AppSettings,
) -> SessionStarted:
    """Replay a catalog exploit's attack transaction(s) in a worker (and analyse them)."""
    with db.session() as s:
        exploit = get_exploit(s, body.exploit_id)
    if exploit is None:
        raise NotFoundError(
            f"no exploit {body.exploit_id!r} in the catalog; "
            "list them at /api/time-machine/exploits"
        )
    payload = body.model_dump(mode="json") | {"exploit_id": exploit.id}
    return start_owned(
        request, principal, db, app, bus, settings, kind=SessionKind.EXPLOIT, payload=payload
    )


def _check_chain(
    body: TransactionsReplayRequest, settings: Settings, db: Database, owner: str
) -> None:
    """One chain per request, served by the devnet, a configured RPC or the owner's stored
    provider credential (checked here so a hopeless request is refused before it is queued)."""
    chains = {tx.chain_id or DEVNET_CHAIN_ID for tx in body.transactions}
    if len(chains) != 1:
        raise InvalidInputError("all transactions of one request must be on the same chain")
    require_chain(chains.pop(), settings, db, owner)


def require_chain(chain_id: int, settings: Settings, db: Database, owner: str) -> None:
    """The chain must be served by the devnet, a configured RPC or the owner's stored provider
    credential (checked before queueing, so a hopeless request is refused at once)."""
    if has_default_rpc(chain_id, settings):
        return
    with db.session() as s:
        if has_credential(s, owner, chain_id):
            return
    raise no_rpc_error(chain_id)


@router.post(
    "/transactions/start",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SessionStarted,
    responses=ERRORS,
)
def start_transactions_replay(
    body: TransactionsReplayRequest,
    request: Request,
    principal: Analyst,
    db: Db,
    app: CeleryApp,
    bus: Bus,
    settings: AppSettings,
) -> SessionStarted:
    """Replay transactions in order on a fork of their chain (and analyse them)."""
    _check_chain(body, settings, db, principal.user_id)
    return start_owned(
        request,
        principal,
        db,
        app,
        bus,
        settings,
        kind=SessionKind.TRANSACTIONS,
        payload=body.model_dump(mode="json"),
    )


@router.get("/{session_id}/status", response_model=SessionStatusPublic, responses=ERRORS)
def session_status(session_id: str, principal: Reader, db: Db) -> SessionStatusPublic:
    """Status, progress and stage of one of your sessions (admins: any)."""
    with db.session() as s:
        session = ReplaySessions(s).require(session_id, owner=principal.owner_scope)
    return status_of(session)


@router.post("/{session_id}/cancel", response_model=SessionStatusPublic, responses=ERRORS)
def cancel(
    session_id: str, request: Request, principal: Analyst, db: Db, app: CeleryApp, bus: Bus
) -> SessionStatusPublic:
    """Cancel one of your pending or running sessions (admins: any; 409 when it already
    finished)."""
    session = cancel_session(db, app, bus, session_id, owner=principal.owner_scope)
    record(request, Action.SESSION_CANCEL, actor=principal, resource=f"session:{session_id}")
    return status_of(session)
