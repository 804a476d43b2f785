"""Security headers on every HTTP response (a route's own value of a header wins).

- `X-Content-Type-Options: nosniff`: a browser never guesses a type (a JSON answer echoing
  input is never run as HTML or script).
- `Content-Security-Policy`: API answers (JSON, text) may load nothing and be framed by no one;
  HTML reports (`/sessions/{id}/report?format=html`: inline CSS and inline SVG, no script) may
  use their inline styles and `data:` images, and nothing else — no script from anywhere. The
  docs pages set their own (see `api/docs.py`).
- `X-Frame-Options: DENY` (older browsers' `frame-ancestors 'none'`), `Referrer-Policy:
  no-referrer`, `Cross-Origin-Opener-Policy: same-origin`.
- `Cache-Control: no-store`: answers carry tokens (login, refresh, new API keys) or a user's
  data, which no browser or proxy cache may keep; only routes that set their own (the docs'
  static assets) are cacheable.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def headers_for(content_type: str) -> dict[str, str]:
    """The security headers for a response of `content_type` (before a route's own)."""
    csp = REPORT_CSP if content_type.lower().startswith("text/html") else API_CSP
    return {**COMMON, "Content-Security-Policy": csp}


class SecurityHeadersMiddleware:
    """ASGI middleware adding `headers_for(content type)` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in headers_for(headers.get("content-type", "")).items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
