"""Passwords: argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended profile)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from timemachine.errors import InvalidInputError

_HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 1024
# Verified when the username is unknown, so a failed login takes as long either way (no user
# enumeration by timing).
_DUMMY = _HASHER.hash(secrets.token_urlsafe(16))


def check_password(password: str) -> str:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInputError(f"a password must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; `password_hash` None (unknown user) costs the same time."""
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def random_password() -> str:
    return secrets.token_urlsafe(18)
