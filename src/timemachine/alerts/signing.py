"""Webhook signatures: HMAC-SHA256 over the exact body bytes.

The body carries `sent_at` (unix seconds) and the `X-TimeMachine-Timestamp` header repeats it, so
the signed bytes include the time: a receiver checks the signature, then refuses a timestamp
older than its tolerance (a replayed request), then de-duplicates by `Idempotency-Key` (the
alert id) — a retried delivery is the same alert, never a second one.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-TimeMachine-Signature"
TIMESTAMP_HEADER = "X-TimeMachine-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes) -> str:
    """The header value: `sha256=<hex>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes,
    signature: str,
    timestamp: str,
    *,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the signature matches the body (constant time) and the
    timestamp is within `tolerance` seconds of `now`."""
    if not hmac.compare_digest(sign(secret, body), signature):
        return False
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    return abs(now - sent) <= tolerance
