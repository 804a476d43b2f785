"""Replay sessions: start (exploit or transactions), status, cancel."""

from __future__ import annotations

from fastapi import APIRouter, status

from timemachine.api.actions import cancel_session, start_session
from timemachine.api.deps import AppSettings, Bus, CeleryApp, Db, owner_of
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
from timemachine.settings import Settings
from timemachine.store import ReplaySessions, get_exploit

router = APIRouter(prefix="/api/time-machine/replay", tags=["replay"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 404, 409, 413, 503)
}


def started(record: ReplaySessionRecord) -> SessionStarted:
    return SessionStarted(
        session_id=record.id,
        task_id=record.task_id or record.id,
        status=record.status,
        message="replay queued; follow it on the websocket link or poll the status link",
        links=links_for(record.id),
    )


@router.post(
    "/exploit/start",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SessionStarted,
    responses=ERRORS,
)
def start_exploit_replay(
    body: ExploitReplayRequest, db: Db, app: CeleryApp, bus: Bus
) -> SessionStarted:
    """Replay a catalog exploit's attack transaction(s) in a worker (and analyse them)."""
    with db.session() as s:
        exploit = get_exploit(s, body.exploit_id)
    if exploit is None:
        raise NotFoundError(
            f"no exploit {body.exploit_id!r} in the catalog; "
            "list them at /api/time-machine/exploits"
        )
    request = body.model_dump(mode="json") | {"exploit_id": exploit.id}
    record = start_session(
        db, app, bus, owner=owner_of(body.user_id), kind=SessionKind.EXPLOIT, request=request
    )
    return started(record)


def _check_chain(body: TransactionsReplayRequest, settings: Settings) -> None:
    chains = {tx.chain_id or DEVNET_CHAIN_ID for tx in body.transactions}
    if len(chains) != 1:
        raise InvalidInputError("all transactions of one request must be on the same chain")
    chain_id = chains.pop()
    configured = {
        DEVNET_CHAIN_ID: "embedded devnet",
        1: settings.web3_rpc_url,
        56: settings.bsc_rpc_url,
        137: settings.polygon_rpc_url,
    }.get(chain_id)
    if not configured:
        raise InvalidInputError(
            f"no RPC configured for chain {chain_id}: set WEB3_RPC_URL (Ethereum), BSC_RPC_URL "
            "or POLYGON_RPC_URL, or replay on the embedded devnet (31337)"
        )


@router.post(
    "/transactions/start",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SessionStarted,
    responses=ERRORS,
)
def start_transactions_replay(
    body: TransactionsReplayRequest, db: Db, app: CeleryApp, bus: Bus, settings: AppSettings
) -> SessionStarted:
    """Replay transactions in order on a fork of their chain (and analyse them)."""
    _check_chain(body, settings)
    record = start_session(
        db,
        app,
        bus,
        owner=owner_of(body.user_id),
        kind=SessionKind.TRANSACTIONS,
        request=body.model_dump(mode="json"),
    )
    return started(record)


@router.get("/{session_id}/status", response_model=SessionStatusPublic, responses=ERRORS)
def session_status(session_id: str, db: Db) -> SessionStatusPublic:
    """Status, progress and stage of a session."""
    with db.session() as s:
        record = ReplaySessions(s).require(session_id)
    return status_of(record)


@router.post("/{session_id}/cancel", response_model=SessionStatusPublic, responses=ERRORS)
def cancel(session_id: str, db: Db, app: CeleryApp, bus: Bus) -> SessionStatusPublic:
    """Cancel a pending or running session (409 when it already finished)."""
    return status_of(cancel_session(db, app, bus, session_id))
