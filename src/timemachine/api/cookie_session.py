"""The web console's cookie session: the credential a browser sends without script access.

The console logs in at `POST /api/console/login` (see `timemachine.api.console`), which stores
the access token in the `tm_session` cookie (HttpOnly, SameSite=Strict, Secure when served over
HTTPS) and a random CSRF token in `tm_csrf` (readable by the console's own script). The API
accepts that cookie wherever it accepts a bearer token — the same token, so the same roles,
scopes, revocations and rate limits — with one more rule: an unsafe method (POST, PUT, PATCH,
DELETE) authenticated by the cookie must repeat the CSRF token in the `X-CSRF-Token` header
(double submit: another site can make a browser send the cookie, never read it). A bearer
header, when present, wins and needs no CSRF token.

WebSockets (no custom headers from a browser) take the cookie only when the handshake's `Origin`
is this server's own (cross-site WebSocket hijacking is refused; the token is then absent, so the
socket closes 4401 as without credentials).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocket

from timemachine.errors import PermissionDeniedError

SESSION_COOKIE = "tm_session"
REFRESH_COOKIE = "tm_refresh"
CSRF_COOKIE = "tm_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_https(connection: HTTPConnection) -> bool:
    """Whether the browser reached us over HTTPS (then every cookie is `Secure`)."""
    return connection.url.scheme in ("https", "wss")


def csrf_matches(request: Request) -> bool:
    """The `X-CSRF-Token` header equals the `tm_csrf` cookie (both present)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), header.encode())


def cookie_token(request: Request) -> str | None:
    """The access token of the console's session cookie, if any; PermissionDeniedError (403) for
    an unsafe method without the matching CSRF header."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    if request.method not in SAFE_METHODS and not csrf_matches(request):
        raise PermissionDeniedError(
            "missing or wrong X-CSRF-Token header: repeat the tm_csrf cookie's value in it"
        )
    return token


def same_origin(websocket: WebSocket) -> bool:
    """The handshake's `Origin` names the host the socket was opened on."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    return bool(origin and host) and urlsplit(origin).netloc.lower() == str(host).lower()


def ws_cookie_token(websocket: WebSocket) -> str | None:
    """The session cookie's access token for a same-origin WebSocket handshake, else None."""
    token = websocket.cookies.get(SESSION_COOKIE)
    return token if token and same_origin(websocket) else None
