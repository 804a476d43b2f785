"""Administration: users (create, list, change role, disable) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from timemachine.api.auth import Admin, record
from timemachine.api.deps import Db, Limit, Offset
from timemachine.api.routers.auth import AUTH_ERRORS
from timemachine.errors import ConflictError
from timemachine.models.auth import AuditRecord, UserCreate, UserRecord, UserUpdate
from timemachine.models.sessions import Page
from timemachine.security import accounts
from timemachine.security.audit import Action
from timemachine.store import AuditLog, Users

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.post("/users", status_code=201, response_model=UserRecord, responses=AUTH_ERRORS)
def create_user(body: UserCreate, request: Request, admin: Admin, db: Db) -> UserRecord:
    """A new user with a password (12+ characters) and a role."""
    user = accounts.create_user(db, body.username, body.password, body.role)
    record(request, Action.USER_CREATE, actor=admin, resource=f"user:{user.id}",
           detail={"username": user.username, "role": str(user.role)})  # fmt: skip
    return user


@router.get("/users", response_model=Page[UserRecord], responses=AUTH_ERRORS)
def list_users(
    admin: Admin,
    db: Db,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[UserRecord]:
    """Every user, oldest first."""
    with db.session() as s:
        return Users(s).list(limit=limit, offset=offset)


@router.patch("/users/{user_id}", response_model=UserRecord, responses=AUTH_ERRORS)
def update_user(
    user_id: str, body: UserUpdate, request: Request, admin: Admin, db: Db
) -> UserRecord:
    """Change a user's role and/or disable (enable) them. Disabling also revokes their access
    and refresh tokens (re-enabling does not revive them) and closes their WebSockets; their API
    keys stop working at once (checked on every request).
    You cannot demote or disable yourself (409): ask another admin."""
    if user_id == admin.user_id and (
        (body.role is not None and body.role != admin.role) or body.disabled
    ):
        raise ConflictError("you cannot demote or disable yourself; ask another admin")
    with db.session() as s:
        users = Users(s)
        before = users.require(user_id)
        after = users.update(user_id, role=body.role, disabled=body.disabled)
        if body.disabled:
            accounts.revoke_user_tokens(s, user_id, reason="disabled")
    resource = f"user:{user_id}"
    if after.role != before.role:
        record(request, Action.USER_ROLE, actor=admin, resource=resource,
               detail={"from": str(before.role), "to": str(after.role)})  # fmt: skip
    if after.disabled != before.disabled:
        action = Action.USER_DISABLE if after.disabled else Action.USER_ENABLE
        record(request, action, actor=admin, resource=resource)
    return after


@router.get("/audit", response_model=Page[AuditRecord], responses=AUTH_ERRORS)
def audit_log(
    admin: Admin,
    db: Db,
    user: Annotated[str | None, Query(max_length=64, description="Actor's username.")] = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. auth.login")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[AuditRecord]:
    """The audit log, newest first, by actor and/or action."""
    with db.session() as s:
        return AuditLog(s).query(actor=user, action=action, limit=limit, offset=offset)
