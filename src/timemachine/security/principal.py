"""Who is calling: a user, through a login (JWT) or one of their API keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from timemachine.models.auth import Role, Scope


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: Role
    scopes: frozenset[Scope] | None = None
    """The API key's scopes; None for a login (JWT), which may do whatever the role allows."""
    api_key_id: str | None = None
    token_id: str | None = None
    """The access token's JWT id (None for an API key): what logout revokes."""
    token_expires_at: dt.datetime | None = None
    issued_at: dt.datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN and self.has_scope(Scope.ADMIN)

    @property
    def owner_scope(self) -> str | None:
        """The owner to scope store reads to: None (everything) for admins, else the user."""
        return None if self.is_admin else self.user_id

    def has_scope(self, scope: Scope) -> bool:
        if self.scopes is None:
            return True
        return scope in self.scopes or Scope.ADMIN in self.scopes

    @property
    def rate_key(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"
