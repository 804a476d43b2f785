"""Authentication and authorization for the API: who is calling, may they, how often.

Every request carries `Authorization: Bearer <token>`: an access JWT from `/api/auth/login` or
an API key (`tm_…`). `Authorize(role, scope)` is the dependency each route declares: 401 without
valid credentials, 403 when the role is too low or the API key lacks the scope. Before the token
is even looked at, the client IP's bucket is charged; after it, the user's (login) or key's
bucket: 429 with `Retry-After` when either is empty. All of it runs on the event loop: tokens
resolve through the process's credential cache (`timemachine.api.credential_cache`: revocations
still refuse at once), the buckets through `RateLimiter.hit_async`.

WebSockets cannot send headers from a browser, so `/ws/*` also takes the token in the
`Sec-WebSocket-Protocol` header: offer the subprotocols `timemachine` and `bearer.<token>`; the
server selects `timemachine`. Not in the query string: URLs end up in proxy and access logs.
Without a valid token the socket is accepted, sent one error message and closed with 4401.

The web console's session cookie is a third way (`timemachine.api.cookie_session`): the same
access token, with a CSRF header required on unsafe methods and a same-origin check on sockets.

The client IP (rate limits, login delays, WebSocket caps, the audit log) is the connection's
peer address; `X-Forwarded-For` counts only from the proxies named in `FORWARDED_ALLOW_IPS`
(default: none; see `timemachine.security.proxies`). `timemachine serve` switches uvicorn's own
proxy-header handling off, so the peer is never rewritten before the app sees it.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from timemachine.api.cookie_session import cookie_token, ws_cookie_token
from timemachine.api.credential_cache import cached_principal
from timemachine.api.deps import app_state, per_app
from timemachine.errors import (
    AuthenticationError,
    PermissionDeniedError,
    RateLimitedError,
    TimeMachineError,
)
from timemachine.models.auth import Outcome, Role, Scope
from timemachine.security.audit import Action, audit
from timemachine.security.principal import Principal
from timemachine.security.proxies import TrustedProxies

bearer = HTTPBearer(
    auto_error=False,
    description="An access token from POST /api/auth/login, or an API key (tm_…).",
)
UNAUTHORIZED_CLOSE = 4401
FORBIDDEN_CLOSE = 4403
RATE_LIMITED_CLOSE = 4429
WS_SUBPROTOCOL = "timemachine"
WS_TOKEN_PREFIX = "bearer."


def client_ip(connection: HTTPConnection) -> str:
    """The client's address: the connection's peer, or — when the peer is a trusted proxy
    (`FORWARDED_ALLOW_IPS`) — the client it names in X-Forwarded-For."""
    peer = connection.client.host if connection.client is not None else "unknown"
    spec = app_state(connection).settings.forwarded_allow_ips
    proxies = per_app(connection, "trusted_proxies", lambda: TrustedProxies.from_spec(spec))
    return proxies.client(peer, connection.headers.getlist("x-forwarded-for"))


def _refuse_when_empty(wait: float) -> None:
    if wait > 0:
        raise RateLimitedError(f"too many requests; retry in {wait:.1f} s", retry_after=wait)


def charge(connection: HTTPConnection, key: str, *, rate_per_minute: float, burst: int) -> None:
    """Take a token from `key`'s bucket; RateLimitedError when it is empty."""
    limiter = app_state(connection).limiter
    _refuse_when_empty(limiter.hit(key, rate=rate_per_minute / 60.0, burst=burst))


async def charge_async(
    connection: HTTPConnection, key: str, *, rate_per_minute: float, burst: int
) -> None:
    """`charge`, on the event loop."""
    limiter = app_state(connection).limiter
    _refuse_when_empty(await limiter.hit_async(key, rate=rate_per_minute / 60.0, burst=burst))


async def _resolve(connection: HTTPConnection, token: str | None) -> Principal:
    settings = app_state(connection).settings
    await charge_async(
        connection,
        f"ip:{client_ip(connection)}",
        rate_per_minute=settings.ip_rate_limit_per_minute,
        burst=settings.ip_rate_limit_burst,
    )
    if not token:
        raise AuthenticationError(
            "authentication required: send 'Authorization: Bearer <access token or API key>' "
            "(log in at POST /api/auth/login)"
        )
    principal = await cached_principal(connection, token)
    await charge_async(
        connection,
        principal.rate_key,
        rate_per_minute=settings.rate_limit_per_minute,
        burst=settings.rate_limit_burst,
    )
    return principal


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    token = credentials.credentials if credentials else cookie_token(request)
    principal = await _resolve(request, token)
    request.state.principal = principal
    return principal


def check(principal: Principal, role: Role, scope: Scope, *, login_only: bool = False) -> None:
    if not principal.role.allows(role):
        raise PermissionDeniedError(f"this needs the {role} role; you are {principal.role}")
    if not principal.has_scope(scope):
        raise PermissionDeniedError(f"this API key lacks the {scope} scope")
    if login_only and principal.api_key_id is not None:
        raise PermissionDeniedError(
            "API keys cannot manage API keys; log in with your password for that"
        )


class Authorize:
    """Dependency: the caller, if their role is at least `role` and (API keys) they hold
    `scope`."""

    def __init__(self, role: Role, scope: Scope, *, login_only: bool = False) -> None:
        self.role = role
        self.scope = scope
        self.login_only = login_only

    async def __call__(
        self, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        check(principal, self.role, self.scope, login_only=self.login_only)
        return principal


Reader = Annotated[Principal, Depends(Authorize(Role.VIEWER, Scope.SESSIONS_READ))]
CatalogReader = Annotated[Principal, Depends(Authorize(Role.VIEWER, Scope.EXPLOITS_READ))]
Analyst = Annotated[Principal, Depends(Authorize(Role.ANALYST, Scope.SESSIONS_WRITE))]
Admin = Annotated[Principal, Depends(Authorize(Role.ADMIN, Scope.ADMIN))]
Anyone = Annotated[Principal, Depends(current_principal)]
LoginOnly = Annotated[
    Principal, Depends(Authorize(Role.VIEWER, Scope.SESSIONS_READ, login_only=True))
]


async def metrics_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """/metrics: the static scrape token (`TIME_MACHINE_METRICS_TOKEN`), or an admin with the
    `metrics:read` scope (an admin login, or an admin's API key holding that scope)."""
    token = credentials.credentials if credentials else None
    scrape = app_state(request).settings.metrics_token
    if (
        token
        and scrape is not None
        and hmac.compare_digest(token.encode(), scrape.get_secret_value().encode())
    ):
        return
    check(await _resolve(request, token), Role.ADMIN, Scope.METRICS_READ)


MetricsReader = Depends(metrics_reader)


def record(
    connection: HTTPConnection,
    action: Action | str,
    *,
    actor: Principal | str | None,
    resource: str | None = None,
    outcome: Outcome | str = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit an action of this request (its database and client IP)."""
    audit(
        app_state(connection).db,
        action,
        actor=actor,
        ip=client_ip(connection),
        resource=resource,
        outcome=outcome,
        detail=detail,
    )


def _ws_token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    for protocol in websocket.scope.get("subprotocols", []):
        if isinstance(protocol, str) and protocol.startswith(WS_TOKEN_PREFIX):
            return protocol[len(WS_TOKEN_PREFIX) :]
    return ws_cookie_token(websocket)


async def websocket_principal(websocket: WebSocket, role: Role, scope: Scope) -> Principal | None:
    """Accept the socket and return its caller; or send an error, close it (4401 no/invalid
    credentials, 4403 not allowed, 4429 rate limited) and return None."""
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=WS_SUBPROTOCOL if WS_SUBPROTOCOL in offered else None)
    try:
        principal = await _resolve(websocket, _ws_token(websocket))
        check(principal, role, scope)
    except TimeMachineError as exc:
        code = {401: UNAUTHORIZED_CLOSE, 403: FORBIDDEN_CLOSE, 429: RATE_LIMITED_CLOSE}.get(
            exc.http_status, 1011
        )
        await websocket.send_json(
            {"type": "error", "error": type(exc).__name__, "detail": exc.message}
        )
        await websocket.close(code=code)
        return None
    return principal
