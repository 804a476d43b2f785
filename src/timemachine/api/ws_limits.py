"""What an open WebSocket may keep doing: per-user and per-IP caps, and its credential
re-checked while it lives.

- Caps: at most `WS_MAX_PER_USER` sockets per user and `WS_MAX_PER_IP` per client IP in one API
  process; the next one is sent an error and closed with 4429.
- Revocation: a socket was authenticated once, when it opened; `LiveSocket.send` re-checks the
  credential before every event (`accounts.still_valid`: user enabled, same role, access token
  not revoked, API key not revoked) and closes the socket with 1008 (policy violation) when it
  no longer stands. A full check costs a database round trip, so the verdict comes from the
  process's credential cache (`timemachine.api.credential_cache`): one check per credential —
  not per socket — when anything changed (at once for changes made by this process, within
  `WATCH_SECONDS` for other processes' ones) and at least every `CACHE_SECONDS`. Idle sockets
  check on a timer.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from starlette.websockets import WebSocket

from timemachine.api.auth import RATE_LIMITED_CLOSE, client_ip, websocket_principal
from timemachine.api.credential_cache import credential_cache
from timemachine.api.deps import app_state, per_app
from timemachine.models.auth import Role, Scope
from timemachine.security.principal import Principal

POLICY_VIOLATION_CLOSE = 1008
IDLE_CHECK_SECONDS = 1.0
"""How often a socket with nothing to send re-checks its credential (cheap unless revoked)."""


class SocketCounts:
    """Open sockets per user and per IP in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: Counter[str] = Counter()
        self._ips: Counter[str] = Counter()

    def acquire(self, user_id: str, ip: str, *, per_user: int, per_ip: int) -> str | None:
        """Count one more socket; the reason it is refused, or None."""
        with self._lock:
            if self._users[user_id] >= per_user:
                return f"too many open WebSockets for this user (at most {per_user})"
            if self._ips[ip] >= per_ip:
                return f"too many open WebSockets from this address (at most {per_ip})"
            self._users[user_id] += 1
            self._ips[ip] += 1
            return None

    def release(self, user_id: str, ip: str) -> None:
        with self._lock:
            self._users[user_id] -= 1
            self._ips[ip] -= 1
            if self._users[user_id] <= 0:
                del self._users[user_id]
            if self._ips[ip] <= 0:
                del self._ips[ip]


class LiveSocket:
    """An authenticated socket that sends only while its credential stands."""

    def __init__(self, websocket: WebSocket, principal: Principal) -> None:
        self.websocket = websocket
        self.principal = principal
        self.credentials = credential_cache(websocket)

    async def still_allowed(self) -> bool:
        """Whether the credential still stands (cached: see the module); when not, say why and
        close with 1008."""
        valid = await self.credentials.still_valid(self.principal)
        if not valid:
            detail = "your credential was revoked or your user disabled; log in again"
            with contextlib.suppress(Exception):
                await self.websocket.send_json(
                    {"type": "error", "error": "AuthenticationError", "detail": detail}
                )
                await self.websocket.close(code=POLICY_VIOLATION_CLOSE)
        return valid

    async def send(self, event: dict[str, Any]) -> bool:
        """Send `event` if the credential still stands; False (socket closed) otherwise."""
        if not await self.still_allowed():
            return False
        await self.websocket.send_json(event)
        return True


@contextlib.asynccontextmanager
async def live_socket(
    websocket: WebSocket, role: Role, scope: Scope
) -> AsyncIterator[LiveSocket | None]:
    """Accept and authenticate the socket, and hold one of its user's and IP's slots while it
    is open; None (socket closed with a reason) when it may not stay."""
    counts = per_app(websocket, "websocket_counts", SocketCounts)
    principal = await websocket_principal(websocket, role, scope)
    if principal is None:
        yield None
        return
    settings = app_state(websocket).settings
    ip = client_ip(websocket)
    refusal = counts.acquire(
        principal.user_id, ip, per_user=settings.ws_max_per_user, per_ip=settings.ws_max_per_ip
    )
    if refusal is not None:
        await websocket.send_json({"type": "error", "error": "RateLimitedError", "detail": refusal})
        await websocket.close(code=RATE_LIMITED_CLOSE)
        yield None
        return
    try:
        yield LiveSocket(websocket, principal)
    finally:
        counts.release(principal.user_id, ip)
