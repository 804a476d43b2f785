"""Users, roles, API keys and audit entries: the records the store returns and the API shows."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    """Ordered: each role may do everything the ones before it may."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class Scope(StrEnum):
    """What an API key may do (on top of its owner's role, never beyond it)."""

    SESSIONS_READ = "sessions:read"
    SESSIONS_WRITE = "sessions:write"
    EXPLOITS_READ = "exploits:read"
    CREDENTIALS_READ = "credentials:read"
    CREDENTIALS_WRITE = "credentials:write"
    METRICS_READ = "metrics:read"
    ADMIN = "admin"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class UserRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    username: str
    role: Role
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class ApiKeyRecord(BaseModel):
    """An API key as listed (never the key itself: only its public prefix)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: str
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class AuditRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: dt.datetime
    actor: str | None
    actor_id: str | None
    action: str
    outcome: Outcome
    ip: str | None
    resource: str | None
    detail: dict[str, Any] | None


# -- API request and response bodies -------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(_Body):
    refresh_token: str = Field(min_length=1, max_length=4096)


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid.")


class Me(BaseModel):
    user: UserRecord
    via: str = Field(description="'login' (an access token) or 'api_key'.")
    api_key_id: str | None = None
    scopes: list[Scope] = Field(description="What this credential may do.")


class ApiKeyCreate(_Body):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))


class ApiKeyCreated(ApiKeyRecord):
    key: str = Field(description="The key itself: shown this once, stored only as a hash.")


class UserCreate(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=12, max_length=1024)
    role: Role = Role.VIEWER


class UserUpdate(_Body):
    role: Role | None = None
    disabled: bool | None = None
