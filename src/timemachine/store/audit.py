"""The audit log: append and query (newest first). Entries are never updated or deleted here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timemachine.models.auth import AuditRecord, Outcome
from timemachine.models.sessions import Page
from timemachine.store.rows import equal_where_given, json_payload, paged, stored
from timemachine.store.security_tables import AuditEntry
from timemachine.store.tables import utcnow


class AuditLog:
    def __init__(self, db_session: Session) -> None:
        self.db_session = db_session

    def append(
        self,
        action: str,
        *,
        actor: str | None,
        actor_id: str | None = None,
        outcome: Outcome | str = Outcome.SUCCESS,
        ip: str | None = None,
        resource: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditRecord:
        row = AuditEntry(
            at=utcnow(),
            actor=actor[:64] if actor is not None else None,
            actor_id=actor_id,
            action=action[:64],
            outcome=Outcome(outcome).value,
            ip=ip[:64] if ip is not None else None,
            resource=resource[:200] if resource is not None else None,
            detail=json_payload(dict(detail), what="audit detail") if detail else None,
        )
        return stored(self.db_session, row, AuditRecord.model_validate)

    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page[AuditRecord]:
        conditions = equal_where_given((AuditEntry.actor, actor), (AuditEntry.action, action))
        query = (
            select(AuditEntry)
            .where(*conditions)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        )
        return paged(self.db_session, query, AuditRecord, limit=limit, offset=offset)
