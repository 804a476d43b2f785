"""Users, their API keys and refresh tokens.

Secrets never reach these repositories in clear: passwords arrive as argon2 hashes, API keys as
their SHA-256 (see `timemachine.security`). Calls scoped by `user_id` treat another user's key as
absent (None / False), so ids of other users' keys do not leak.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.orm import Session

from timemachine.errors import ConflictError, InvalidInputError, NotFoundError
from timemachine.models.auth import ApiKeyRecord, Role, Scope, UserRecord
from timemachine.models.choices import member
from timemachine.models.sessions import Page
from timemachine.store.revocations import credentials_changed
from timemachine.store.rows import paged, stored
from timemachine.store.security_tables import ApiKey, RefreshToken, User
from timemachine.store.tables import utcnow

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise InvalidInputError(
            f"invalid username {username!r}: 1 to 64 letters, digits, '_', '.', '@' or '-', "
            "starting with a letter or digit"
        )
    return username


def role_of(role: Role | str) -> Role:
    return member(Role, role, "role")


class Users:
    def __init__(self, db_session: Session) -> None:
        self.db_session = db_session

    def count(self) -> int:
        return self.db_session.scalar(select(func.count()).select_from(User)) or 0

    def create(self, username: str, *, password_hash: str, role: Role | str) -> UserRecord:
        username = check_username(username)
        if self.db_session.scalar(select(User.id).where(User.username == username)) is not None:
            raise ConflictError(f"user {username!r} already exists")
        now = utcnow()
        row = User(
            id=str(uuid.uuid4()),
            username=username,
            role=role_of(role).value,
            password_hash=password_hash,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
        return stored(self.db_session, row, UserRecord.model_validate)

    def get(self, user_id: str) -> UserRecord | None:
        row = self.db_session.get(User, user_id, populate_existing=True)
        return UserRecord.model_validate(row) if row is not None else None

    def require(self, user_id: str) -> UserRecord:
        record = self.get(user_id)
        if record is None:
            raise NotFoundError(f"no user {user_id!r}; list users at /api/admin/users")
        return record

    def by_username(self, username: str) -> UserRecord | None:
        row = self.db_session.scalars(select(User).where(User.username == username)).one_or_none()
        return UserRecord.model_validate(row) if row is not None else None

    def password_hash(self, username: str) -> tuple[UserRecord, str] | None:
        """The user and their password hash (for login only)."""
        row = self.db_session.scalars(select(User).where(User.username == username)).one_or_none()
        return (UserRecord.model_validate(row), row.password_hash) if row is not None else None

    def list(self, *, limit: int = 50, offset: int = 0) -> Page[UserRecord]:
        query = select(User).order_by(User.created_at, User.username)
        return paged(self.db_session, query, UserRecord, limit=limit, offset=offset)

    def update(
        self,
        user_id: str,
        *,
        role: Role | str | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> UserRecord:
        values: dict[str, Any] = {"updated_at": utcnow()}
        if role is not None:
            values["role"] = role_of(role).value
        if disabled is not None:
            values["disabled"] = disabled
        if password_hash is not None:
            values["password_hash"] = password_hash
        result = cast(
            CursorResult[Any],
            self.db_session.execute(update(User).where(User.id == user_id).values(**values)),
        )
        if result.rowcount == 0:
            raise NotFoundError(f"no user {user_id!r}; list users at /api/admin/users")
        credentials_changed(self.db_session)
        return self.require(user_id)


class ApiKeys:
    def __init__(self, db_session: Session) -> None:
        self.db_session = db_session

    def create(
        self, user_id: str, *, name: str, prefix: str, key_hash: str, scopes: Sequence[Scope]
    ) -> ApiKeyRecord:
        row = ApiKey(
            id=str(uuid.uuid4()),
            user_id=user_id,
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            scopes=sorted({Scope(s).value for s in scopes}),
            created_at=utcnow(),
        )
        return stored(self.db_session, row, ApiKeyRecord.model_validate)

    def by_hash(self, key_hash: str) -> ApiKeyRecord | None:
        """The live (not revoked) key with this hash; marks it used."""
        row = self.db_session.scalars(
            select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        ).one_or_none()
        if row is None:
            return None
        row.last_used_at = utcnow()
        self.db_session.flush()
        return ApiKeyRecord.model_validate(row)

    def list(self, user_id: str) -> list[ApiKeyRecord]:
        rows = self.db_session.scalars(
            select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc())
        ).all()
        return [ApiKeyRecord.model_validate(r) for r in rows]

    def revoke(self, key_id: str, *, user_id: str | None) -> ApiKeyRecord | None:
        """Revoke the key (of `user_id` when given); None when there is no such key for them.
        Revoking twice keeps the first revocation time."""
        statement = select(ApiKey).where(ApiKey.id == key_id)
        if user_id is not None:
            statement = statement.where(ApiKey.user_id == user_id)
        row = self.db_session.scalars(statement).one_or_none()
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            self.db_session.flush()
            credentials_changed(self.db_session)
        return ApiKeyRecord.model_validate(row)


class RefreshTokens:
    def __init__(self, db_session: Session) -> None:
        self.db_session = db_session

    def issue(self, user_id: str, *, jti: str, family: str, expires_at: dt.datetime) -> None:
        self.db_session.add(
            RefreshToken(
                jti=jti,
                user_id=user_id,
                family=family,
                created_at=utcnow(),
                expires_at=expires_at,
            )
        )
        self.db_session.flush()

    def use(self, jti: str, *, user_id: str) -> str | None:
        """Mark the token used (one atomic UPDATE: of two concurrent refreshes only one wins);
        its family, or None when it is unknown, already used, revoked or expired — in which case
        a known token's whole family is revoked (a stolen token was replayed)."""
        now = utcnow()
        result = cast(
            CursorResult[Any],
            self.db_session.execute(
                update(RefreshToken)
                .where(
                    RefreshToken.jti == jti,
                    RefreshToken.user_id == user_id,
                    RefreshToken.used_at.is_(None),
                    RefreshToken.revoked_at.is_(None),
                    RefreshToken.expires_at > now,
                )
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        family = self.db_session.scalar(select(RefreshToken.family).where(RefreshToken.jti == jti))
        if result.rowcount == 1:
            return family
        if family is not None:
            self.revoke_family(family)
        return None

    def revoke_family(self, family: str) -> int:
        return self._revoke(RefreshToken.family == family)

    def family_of(self, jti: str, *, user_id: str) -> str | None:
        return self.db_session.scalar(
            select(RefreshToken.family).where(
                RefreshToken.jti == jti, RefreshToken.user_id == user_id
            )
        )

    def revoke_user(self, user_id: str) -> int:
        return self._revoke(RefreshToken.user_id == user_id)

    def _revoke(self, which: ColumnElement[bool]) -> int:
        """Revoke the live refresh tokens matching `which`; how many there were."""
        result = cast(
            CursorResult[Any],
            self.db_session.execute(
                update(RefreshToken)
                .where(which, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
                .execution_options(synchronize_session=False)
            ),
        )
        return int(result.rowcount)
