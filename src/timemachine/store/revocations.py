"""Revoked access tokens (migration 0005_token_revocations).

Access tokens are stateless JWTs; this table is what makes them revocable before they expire.
A row either names one token by its JWT id (`jti`: logout), or voids every token of a user
issued up to `not_before` (`jti` NULL: password change, disable). Rows are only needed while a
token they void could still be presented, so each carries `expires_at` and old rows are purged
as new ones are written. `id` only grows: the largest id is a cheap "anything revoked since?"
marker (`latest_id`).

Credential caches (the API's, `timemachine.api.credential_cache`) learn of changes two ways:
`credential_generation()` grows once a transaction of *this process* that revoked a token,
changed a user or revoked an API key commits (`credentials_changed`), so they drop at once what
this process changed; `credential_stamp()` changes with what any process committed (newest
revocation id, user update, API key revocation), read by the caches every fraction of a second.
"""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import ForeignKey, Index, Integer, String, delete, event, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from timemachine.store.security_tables import ApiKey, User
from timemachine.store.tables import Base, UtcDateTime, utcnow

USER_WIDE_LIFETIME = dt.timedelta(days=1)
"""How long a user-wide row is kept: longer than any access token lives (at most 24 h)."""


_CHANGED = "timemachine.credentials_changed"


class _Generation:
    """Committed credential changes of this process."""

    value = 0
    _next = itertools.count(1)

    @classmethod
    def bump(cls) -> None:
        cls.value = next(cls._next)


def credentials_changed(db_session: Session) -> None:
    """Note that this transaction changes who may do what (a revocation, a user's role or
    status, an API key): `credential_generation()` grows when it commits."""
    db_session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _count_commit(db_session: Session) -> None:
    if db_session.info.pop(_CHANGED, False):
        _Generation.bump()


@event.listens_for(Session, "after_rollback")
def _forget_rollback(db_session: Session) -> None:
    db_session.info.pop(_CHANGED, None)


def credential_generation() -> int:
    """Grows with every committed credential change of this process (0: none yet)."""
    return _Generation.value


class TokenRevocation(Base):
    __tablename__ = "token_revocations"
    __table_args__ = (
        Index("ix_token_revocations_user_id", "user_id"),
        Index("ix_token_revocations_jti", "jti"),
        Index("ix_token_revocations_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"))
    jti: Mapped[str | None] = mapped_column(String(36))
    not_before: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class TokenRevocations:
    """Repository of revocations, bound to one database session (one transaction)."""

    def __init__(self, db_session: Session) -> None:
        self.db_session = db_session

    def revoke_token(self, user_id: str, jti: str, *, expires_at: dt.datetime, reason: str) -> None:
        """Void the one token `jti` (until it expires anyway)."""
        self._add(TokenRevocation(user_id=user_id, jti=jti, reason=reason, expires_at=expires_at))

    def revoke_user(self, user_id: str, *, reason: str, now: dt.datetime | None = None) -> None:
        """Void every access token of the user issued up to now."""
        now = now or utcnow()
        self._add(
            TokenRevocation(
                user_id=user_id,
                not_before=now,
                reason=reason,
                created_at=now,
                expires_at=now + USER_WIDE_LIFETIME,
            )
        )

    def is_revoked(self, user_id: str, jti: str, issued_at: dt.datetime) -> bool:
        """Whether the token (`jti`, issued at `issued_at`) of `user_id` is revoked."""
        query = select(TokenRevocation.id).where(
            TokenRevocation.user_id == user_id,
            or_(TokenRevocation.jti == jti, TokenRevocation.not_before >= issued_at),
        )
        return self.db_session.scalars(query.limit(1)).first() is not None

    def latest_id(self) -> int:
        """The id of the newest revocation (0 when none): grows with every revocation."""
        return int(self.db_session.scalar(select(func.max(TokenRevocation.id))) or 0)

    def credential_stamp(self) -> tuple[int, str, str]:
        """Changes whenever any process revokes a token, updates a user (role, disabled,
        password) or revokes an API key: the newest revocation id, user update and API key
        revocation, in one query."""
        newest_user = select(func.max(User.updated_at)).scalar_subquery()
        newest_key = select(func.max(ApiKey.revoked_at)).scalar_subquery()
        row = self.db_session.execute(
            select(func.max(TokenRevocation.id), newest_user, newest_key)
        ).one()
        return int(row[0] or 0), str(row[1]), str(row[2])

    def _add(self, row: TokenRevocation) -> None:
        credentials_changed(self.db_session)
        now = utcnow()
        if row.created_at is None:
            row.created_at = now
        newest = self.latest_id()  # kept: on SQLite a deleted top id would be handed out again
        self.db_session.execute(
            delete(TokenRevocation).where(
                TokenRevocation.expires_at < now, TokenRevocation.id < newest
            )
        )
        self.db_session.add(row)
        self.db_session.flush()
