"""API keys: `tm_` + 43 characters of URL-safe base64 (256 random bits).

Stored as SHA-256 hex, not with a slow password hash: a slow hash protects *low-entropy* secrets
(passwords) against guessing; a 256-bit random key cannot be guessed, so one SHA-256 is as
irreversible as argon2 here, needs no salt (no two keys are equal, no table can cover 2^256
inputs), and lets every request find its key by an indexed equality lookup in microseconds
instead of one argon2 verification (~50 ms, and a DoS lever) per request.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "tm_"


def new_key() -> tuple[str, str, str]:
    """(the key, shown once; its public prefix for listings; its SHA-256 for the store)."""
    key = PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], key_hash(key)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)
