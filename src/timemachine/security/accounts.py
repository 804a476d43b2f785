"""Accounts: users, logins, token rotation and resolving a bearer token to a `Principal`.

No web framework here: the API (`timemachine.api.auth`) and the CLI (`timemachine users`) call
these.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from timemachine.errors import AuthenticationError, ConflictError, InvalidInputError
from timemachine.models.auth import ApiKeyRecord, Role, Scope, UserRecord
from timemachine.security import apikeys, tokens
from timemachine.security.passwords import hash_password, random_password, verify_password
from timemachine.security.principal import Principal
from timemachine.settings import Settings
from timemachine.store import ApiKeys, Database, RefreshTokens, TokenRevocations, Users

BOOTSTRAP_ADMIN = "admin"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


def create_user(db: Database, username: str, password: str, role: Role | str) -> UserRecord:
    password_hash = hash_password(password)
    with db.session() as s:
        return Users(s).create(username, password_hash=password_hash, role=role)


def set_password(db: Database, username: str, password: str) -> UserRecord:
    password_hash = hash_password(password)
    with db.session() as s:
        users = Users(s)
        user = users.by_username(username)
        if user is None:
            raise InvalidInputError(f"no user {username!r}")
        revoke_user_tokens(s, user.id, reason="password")  # a new password logs every device out
        return users.update(user.id, password_hash=password_hash)


def bootstrap_admin(db: Database) -> str | None:
    """Create `admin` with a random password when there is no user at all; the password, or
    None when users exist (or another instance won the race)."""
    with db.session() as s:
        if Users(s).count() > 0:
            return None
    password = random_password()
    try:
        create_user(db, BOOTSTRAP_ADMIN, password, Role.ADMIN)
    except ConflictError:
        return None
    return password


def _issue_pair(settings: Settings, db: Database, user_id: str, family: str) -> TokenPair:
    key = tokens.signing_key(settings)
    access_life = dt.timedelta(minutes=settings.access_token_minutes)
    refresh_life = dt.timedelta(days=settings.refresh_token_days)
    access, _ = tokens.issue(key, user_id, "access", lifetime=access_life)
    refresh, claims = tokens.issue(key, user_id, "refresh", lifetime=refresh_life, family=family)
    with db.session() as s:
        RefreshTokens(s).issue(user_id, jti=claims.jti, family=family, expires_at=claims.expires_at)
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(access_life.total_seconds()),
        refresh_expires_in=int(refresh_life.total_seconds()),
    )


def login(
    settings: Settings, db: Database, username: str, password: str
) -> tuple[UserRecord, TokenPair]:
    """Tokens for valid credentials of an enabled user; AuthenticationError otherwise (one
    message for unknown user, wrong password and disabled user: nothing to enumerate)."""
    with db.session() as s:
        found = Users(s).password_hash(username)
    user, stored = found if found is not None else (None, None)
    if not verify_password(stored, password) or user is None or user.disabled:
        raise AuthenticationError("wrong username or password")
    return user, _issue_pair(settings, db, user.id, family=str(uuid.uuid4()))


def refresh(settings: Settings, db: Database, refresh_token: str) -> tuple[UserRecord, TokenPair]:
    """A new pair for a valid refresh token, which is used up. A token presented a second time
    (stolen and replayed, or a client bug) revokes every token of its login."""
    claims = tokens.decode(tokens.signing_key(settings), refresh_token, "refresh")
    with db.session() as s:
        family = RefreshTokens(s).use(claims.jti, user_id=claims.user_id)
        user = Users(s).get(claims.user_id)
    if family is None:
        raise AuthenticationError("this refresh token was already used or revoked; log in again")
    if user is None or user.disabled:
        raise AuthenticationError("the user is disabled or gone")
    return user, _issue_pair(settings, db, user.id, family=family)


def logout(settings: Settings, db: Database, refresh_token: str, *, principal: Principal) -> bool:
    """Revoke the refresh token's login (its family) and the access token presenting it;
    False when the refresh token is not the caller's."""
    claims = tokens.decode(tokens.signing_key(settings), refresh_token, "refresh")
    if claims.user_id != principal.user_id:
        return False
    with db.session() as s:
        refreshes = RefreshTokens(s)
        family = refreshes.family_of(claims.jti, user_id=principal.user_id)
        if family is None:
            return False
        refreshes.revoke_family(family)
        if principal.token_id is not None and principal.token_expires_at is not None:
            TokenRevocations(s).revoke_token(
                principal.user_id,
                principal.token_id,
                expires_at=principal.token_expires_at,
                reason="logout",
            )
    return True


def revoke_user_tokens(db_session: Session, user_id: str, *, reason: str) -> None:
    """Void every access and refresh token of the user issued until now (password change,
    disable), in the caller's transaction."""
    RefreshTokens(db_session).revoke_user(user_id)
    TokenRevocations(db_session).revoke_user(user_id, reason=reason)


def still_valid(db: Database, principal: Principal) -> bool:
    """Whether the credential `principal` was resolved from still stands: its user exists and
    is enabled, its access token is not revoked, or its API key not revoked. (Expiry is not
    re-checked: it governs new authentications.) For connections that outlive a request."""
    with db.session() as s:
        user = Users(s).get(principal.user_id)
        if user is None or user.disabled or user.role is not principal.role:
            return False
        if principal.api_key_id is not None:
            return any(
                key.id == principal.api_key_id and key.revoked_at is None
                for key in ApiKeys(s).list(principal.user_id)
            )
        if principal.token_id is not None and principal.issued_at is not None:
            revocations = TokenRevocations(s)
            return not revocations.is_revoked(user.id, principal.token_id, principal.issued_at)
    return True


def create_api_key(
    db: Database, principal: Principal, *, name: str, scopes: Iterable[Scope]
) -> tuple[ApiKeyRecord, str]:
    """A new key for the principal's user (the record, and the key: shown once). Scopes beyond
    the user's role are refused: a key never does more than its owner."""
    wanted = sorted(set(scopes))
    too_much = [s for s in wanted if not principal.role.allows(SCOPE_ROLE[s])]
    if too_much:
        raise InvalidInputError(
            f"a {principal.role} cannot hold scopes {', '.join(too_much)}; "
            f"allowed: {', '.join(s for s in Scope if principal.role.allows(SCOPE_ROLE[s]))}"
        )
    key, prefix, digest = apikeys.new_key()
    with db.session() as s:
        record = ApiKeys(s).create(
            principal.user_id, name=name, prefix=prefix, key_hash=digest, scopes=wanted
        )
    return record, key


SCOPE_ROLE: dict[Scope, Role] = {
    Scope.SESSIONS_READ: Role.VIEWER,
    Scope.EXPLOITS_READ: Role.VIEWER,
    Scope.CREDENTIALS_READ: Role.VIEWER,
    Scope.SESSIONS_WRITE: Role.ANALYST,
    Scope.CREDENTIALS_WRITE: Role.ANALYST,
    Scope.METRICS_READ: Role.ADMIN,
    Scope.ADMIN: Role.ADMIN,
}
"""The least role that may hold each scope."""


def principal_for(settings: Settings, db: Database, token: str) -> Principal:
    """Who `token` (an access JWT or an API key) belongs to; AuthenticationError when it is
    invalid, expired, revoked, or its user is disabled."""
    if apikeys.looks_like_key(token):
        with db.session() as s:
            key = ApiKeys(s).by_hash(apikeys.key_hash(token))
            user = Users(s).get(key.user_id) if key is not None else None
        if key is None or user is None:
            raise AuthenticationError("unknown or revoked API key")
        principal = Principal(
            user_id=user.id,
            username=user.username,
            role=user.role,
            scopes=frozenset(key.scopes),
            api_key_id=key.id,
        )
    else:
        claims = tokens.decode(tokens.signing_key(settings), token, "access")
        with db.session() as s:
            user = Users(s).get(claims.user_id)
            revoked = user is not None and TokenRevocations(s).is_revoked(
                user.id, claims.jti, claims.issued_at
            )
        if user is None:
            raise AuthenticationError("the token's user no longer exists")
        if revoked:
            raise AuthenticationError(
                "this access token was revoked (logout, password change or disabled user); "
                "log in again"
            )
        principal = Principal(
            user_id=user.id,
            username=user.username,
            role=user.role,
            token_id=claims.jti,
            token_expires_at=claims.expires_at,
            issued_at=claims.issued_at,
        )
    if user.disabled:
        raise AuthenticationError(f"user {user.username!r} is disabled")
    return principal
