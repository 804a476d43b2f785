"""JWT access and refresh tokens (HS256), and the signing key.

Access tokens carry only the user id (`sub`), a type and an expiry: the role and the disabled
flag are read from the store on every request, so a demotion or a disable takes effect at once.
Refresh tokens also carry a JWT id (`jti`) and a family, recorded in the store (`RefreshTokens`)
so that each can be used once.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt

from timemachine.errors import AuthenticationError
from timemachine.settings import Settings

ALGORITHM = "HS256"
ISSUER = "timemachine"
KEY_FILE = "secret.key"
TokenType = Literal["access", "refresh"]


def signing_key(settings: Settings) -> str:
    """`TIME_MACHINE_SECRET_KEY`, else the key in `<data dir>/secret.key` (created, mode 0600,
    on first use with 256 random bits)."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        if len(key) < 32:
            raise AuthenticationError(
                "TIME_MACHINE_SECRET_KEY is shorter than 32 characters; use e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return key
    assert settings.data_dir is not None
    path = Path(settings.data_dir) / KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:  # O_EXCL: of two processes starting at once, one writes and the other reads its key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


@dataclass(frozen=True)
class Claims:
    user_id: str
    type: TokenType
    jti: str
    family: str | None
    expires_at: dt.datetime
    issued_at: dt.datetime


def issue(
    key: str,
    user_id: str,
    token_type: TokenType,
    *,
    lifetime: dt.timedelta,
    family: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[str, Claims]:
    now = now or dt.datetime.now(dt.UTC)
    claims = Claims(
        user_id=user_id,
        type=token_type,
        jti=str(uuid.uuid4()),
        family=family,
        expires_at=now + lifetime,
        issued_at=now,
    )
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "sub": user_id,
        "typ": token_type,
        "jti": claims.jti,
        "iat": now.timestamp(),  # fractional: a revocation voids tokens issued up to it
        "exp": int(claims.expires_at.timestamp()),
    }
    if family is not None:
        payload["fam"] = family
    return jwt.encode(payload, key, algorithm=ALGORITHM), claims


def decode(key: str, token: str, expected: TokenType) -> Claims:
    """The claims of a valid, unexpired token of the `expected` type; AuthenticationError
    otherwise (the message says why, without echoing the token)."""
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError(
            f"the {expected} token expired; "
            + ("refresh it at /api/auth/refresh" if expected == "access" else "log in again")
        ) from None
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError(f"invalid {expected} token ({type(exc).__name__})") from None
    if payload.get("typ") != expected:
        raise AuthenticationError(f"not an {expected} token")
    return Claims(
        user_id=str(payload["sub"]),
        type=expected,
        jti=str(payload["jti"]),
        family=payload.get("fam"),
        expires_at=dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC),
        issued_at=dt.datetime.fromtimestamp(float(payload["iat"]), dt.UTC),
    )
