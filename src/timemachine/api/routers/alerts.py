"""Alerts and rules over HTTP: list, inspect (deliveries, attempts) and acknowledge alerts, the
dead letters, new alerts pushed on `/ws/alerts`; validate and dry-run a rule document.

Rule documents sent here may not name WASM modules (a path on the server) nor `${ENV}`
variables (the server's environment): both are for operator-installed rule files. Stored rule
documents (CRUD, versions, secrets) are in `routers/rules.py`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, WebSocket
from pydantic import BaseModel, Field

from timemachine.alerts.dryrun import dry_run
from timemachine.alerts.notifier import ALERTS_CHANNEL
from timemachine.api.auth import Analyst, Reader
from timemachine.api.deps import Db
from timemachine.api.routers.replay import ERRORS
from timemachine.api.routers.rules import checked
from timemachine.api.routers.ws import stream_events
from timemachine.api.ws_limits import live_socket
from timemachine.models.auth import Role, Scope
from timemachine.rules.event import RuleEvent
from timemachine.rules.loader import RuleSet
from timemachine.store.alerts import AlertRecord, AlertStore, AttemptRecord, DeliveryRecord

router = APIRouter(tags=["alerts"])
PREFIX = "/api/time-machine"
AlertId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
MAX_DOCUMENT = 1_000_000


class AlertDetail(BaseModel):
    alert: AlertRecord
    deliveries: list[DeliveryRecord]
    attempts: list[AttemptRecord]


class RuleDocument(BaseModel):
    document: str = Field(max_length=MAX_DOCUMENT, description="A rule file (YAML or JSON).")


class DryRunRequest(RuleDocument):
    event: RuleEvent


class Validation(BaseModel):
    rules: int
    channels: int


def _compile(document: str, request: Request) -> RuleSet:
    return checked(document, request, secrets=None)


@router.get(f"{PREFIX}/alerts", response_model=list[AlertRecord], responses=ERRORS)
def list_alerts(
    principal: Reader,
    db: Db,
    rule_id: Annotated[str | None, Query(max_length=128)] = None,
    acked: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[AlertRecord]:
    """Stored alerts, newest first."""
    del principal
    with db.session() as s:
        return AlertStore(s).recent(rule_id=rule_id, acked=acked, limit=limit)


@router.get(f"{PREFIX}/alerts/dead-letters", response_model=list[DeliveryRecord], responses=ERRORS)
def dead_letters(
    principal: Reader, db: Db, channel: Annotated[str | None, Query(max_length=128)] = None
) -> list[DeliveryRecord]:
    """Deliveries that gave up (retries exhausted or refused for good)."""
    del principal
    with db.session() as s:
        return AlertStore(s).dead_letters(channel)


@router.get(PREFIX + "/alerts/{alert_id}", response_model=AlertDetail, responses=ERRORS)
def alert_detail(alert_id: AlertId, principal: Reader, db: Db) -> AlertDetail:
    """One alert with its deliveries and every delivery attempt."""
    del principal
    with db.session() as s:
        store = AlertStore(s)
        return AlertDetail(
            alert=store.get(alert_id),
            deliveries=store.deliveries(alert_id),
            attempts=store.attempts(alert_id),
        )


@router.post(PREFIX + "/alerts/{alert_id}/ack", response_model=AlertRecord, responses=ERRORS)
def ack_alert(alert_id: AlertId, principal: Analyst, db: Db) -> AlertRecord:
    """Acknowledge an alert (the first acknowledgement is kept)."""
    with db.session() as s:
        return AlertStore(s).ack(alert_id, by=principal.username)


@router.post(f"{PREFIX}/rules/validate", response_model=Validation, responses=ERRORS)
def validate_rules(body: RuleDocument, request: Request, principal: Analyst) -> Validation:
    """Parse and type-check a rule document (400 with the first problem)."""
    del principal
    rules = _compile(body.document, request)
    return Validation(rules=len(rules.rules), channels=len(rules.channels))


@router.post(f"{PREFIX}/rules/dry-run", responses=ERRORS)
def dry_run_rules(body: DryRunRequest, request: Request, principal: Analyst) -> dict[str, Any]:
    """Which rules of the document match the event, their evidence and messages; nothing sent."""
    del principal
    return dry_run(_compile(body.document, request), body.event)


@router.websocket("/ws/alerts")
async def alert_updates(websocket: WebSocket) -> None:
    """New alerts as the notifier raises them (with the in-process bus: this process's)."""
    async with live_socket(websocket, Role.VIEWER, Scope.SESSIONS_READ) as live:
        if live is not None:
            hello = {"type": "hello", "channel": ALERTS_CHANNEL}
            await stream_events(live, [ALERTS_CHANNEL], hello)
