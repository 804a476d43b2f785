"""The audit log's one entry point.

    from timemachine.security.audit import audit, Action
    audit(db, Action.CREDENTIAL_STORE, actor=principal, ip="203.0.113.7",
          resource=f"credential:{credential_id}", outcome="success", detail={"chain_id": 1})

`actor` is a `Principal` (who was authenticated), a plain name (e.g. the username a failed login
tried), or None (unknown). Never put secrets in `detail`. Each call is its own transaction, so
an entry is kept even when the request fails afterwards. A database failure while writing the
entry is logged (`audit write failed`) and not raised: the audited action already happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from timemachine.errors import StorageError
from timemachine.logs import get_logger
from timemachine.models.auth import Outcome
from timemachine.security.principal import Principal
from timemachine.store import AuditLog, Database

log = get_logger(__name__)


class Action(StrEnum):
    LOGIN = "auth.login"
    REFRESH = "auth.refresh"
    LOGOUT = "auth.logout"
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    CREDENTIAL_STORE = "credential.store"
    CREDENTIAL_READ = "credential.read"
    CREDENTIAL_DELETE = "credential.delete"
    SESSION_START = "session.start"
    SESSION_CANCEL = "session.cancel"
    SESSION_DELETE = "session.delete"
    IMPORT_CREATE = "import.create"
    CLEANUP = "cleanup"
    USER_CREATE = "user.create"
    USER_ROLE = "user.role"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_PASSWORD = "user.password"


def audit(
    db: Database,
    action: Action | str,
    *,
    actor: Principal | str | None,
    ip: str | None = None,
    resource: str | None = None,
    outcome: Outcome | str = Outcome.SUCCESS,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry to the audit log (see the module doc)."""
    if isinstance(actor, Principal):
        name: str | None = actor.username
        actor_id: str | None = actor.user_id
        if actor.api_key_id is not None:
            detail = {"api_key_id": actor.api_key_id, **(detail or {})}
    else:
        name, actor_id = actor, None
    try:
        with db.session() as s:
            AuditLog(s).append(
                str(action),
                actor=name,
                actor_id=actor_id,
                outcome=outcome,
                ip=ip,
                resource=resource,
                detail=detail,
            )
    except StorageError as exc:
        log.error("audit write failed", action=str(action), actor=name, error=str(exc))
