"""Replay sessions: start (exploit or transactions), status, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status

from timemachine.api.auth import Analyst, Reader, record
from timemachine.api.deps import AppSettings, Bus, Db, Queue
from timemachine.api.schemas import (
    ErrorBody,
    SessionStarted,
    SessionStatusPublic,
    links_for,
    status_of,
)
from timemachine.api.session_control import cancel_session, start_session
from timemachine.catalog.devnet import DEVNET_CHAIN_ID
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.models.requests import ExploitReplayRequest, TransactionsReplayRequest
from timemachine.models.sessions import ReplaySessionRecord, SessionKind
from timemachine.orchestration.runtime import has_default_rpc, no_rpc_error
from timemachine.ports import EventBus, JobQueue
from timemachine.security.audit import Action
from timemachine.security.principal import Principal
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


@dataclass(frozen=True)
class SessionStarter:
    """What starting a session needs: the caller (an analyst), the request, the store, the queue
    and the bus. One dependency, so every start endpoint takes just this."""

    request: Request
    principal: Principal
    db: Database
    queue: JobQueue
    bus: EventBus
    settings: Settings

    def require_chain(self, chain_id: int) -> None:
        """The chain must be served by the devnet, a configured RPC or the caller's stored
        provider credential (checked before queueing, so a hopeless request is refused)."""
        if has_default_rpc(chain_id, self.settings):
            return
        with self.db.session() as s:
            if has_credential(s, self.principal.user_id, chain_id):
                return
        raise no_rpc_error(chain_id)

    def start(self, kind: SessionKind, payload: dict[str, Any]) -> SessionStarted:
        """Start a session owned by the caller. A `user_id` in the body is not trusted: it is
        replaced by the caller's user id (kept in the request only for seed compatibility)."""
        principal = self.principal
        session = start_session(
            self.db,
            self.queue,
            self.bus,
            owner=principal.user_id,
            kind=kind,
            request=payload | {"user_id": principal.user_id},
            max_active=self.settings.max_active_sessions_per_user,
        )
        record(self.request, Action.SESSION_START, actor=principal,
               resource=f"session:{session.id}", detail={"kind": kind.value})  # fmt: skip
        return started(session)


def session_starter(
    request: Request, principal: Analyst, db: Db, queue: Queue, bus: Bus, settings: AppSettings
) -> SessionStarter:
    return SessionStarter(request, principal, db, queue, bus, settings)


Starter = Annotated[SessionStarter, Depends(session_starter)]
START: dict[str, Any] = {
    "status_code": status.HTTP_202_ACCEPTED,
    "response_model": SessionStarted,
    "responses": ERRORS,
}
"""The decorator arguments of every session-start endpoint."""


@router.post("/exploit/start", **START)
def start_exploit_replay(body: ExploitReplayRequest, starter: Starter) -> SessionStarted:
    """Replay a catalog exploit's attack transaction(s) in a worker (and analyse them)."""
    with starter.db.session() as s:
        exploit = get_exploit(s, body.exploit_id)
    if exploit is None:
        raise NotFoundError(
            f"no exploit {body.exploit_id!r} in the catalog; "
            "list them at /api/time-machine/exploits"
        )
    payload = body.model_dump(mode="json") | {"exploit_id": exploit.id}
    return starter.start(SessionKind.EXPLOIT, payload)


@router.post("/transactions/start", **START)
def start_transactions_replay(body: TransactionsReplayRequest, starter: Starter) -> SessionStarted:
    """Replay transactions in order on a fork of their chain (and analyse them)."""
    chains = {tx.chain_id or DEVNET_CHAIN_ID for tx in body.transactions}
    if len(chains) != 1:
        raise InvalidInputError("all transactions of one request must be on the same chain")
    starter.require_chain(chains.pop())
    return starter.start(SessionKind.TRANSACTIONS, body.model_dump(mode="json"))


@router.get("/{session_id}/status", response_model=SessionStatusPublic, responses=ERRORS)
def session_status(session_id: str, principal: Reader, db: Db) -> SessionStatusPublic:
    """Status, progress and stage of one of your sessions (admins: any)."""
    with db.session() as s:
        session = ReplaySessions(s).require(session_id, owner=principal.owner_scope)
    return status_of(session)


@router.post("/{session_id}/cancel", response_model=SessionStatusPublic, responses=ERRORS)
def cancel(
    session_id: str, request: Request, principal: Analyst, db: Db, queue: Queue, bus: Bus
) -> SessionStatusPublic:
    """Cancel one of your pending or running sessions (admins: any; 409 when it already
    finished)."""
    session = cancel_session(db, queue, bus, session_id, owner=principal.owner_scope)
    record(request, Action.SESSION_CANCEL, actor=principal, resource=f"session:{session_id}")
    return status_of(session)
