"""Request guards, applied before anything parses the request.

The stdlib JSON parser recurses once per nesting level (see `timemachine.untrusted` for why
that can kill the process), and no database text column can hold a NUL character, nor any
column a NaN. So, before routing:

- bodies larger than `MAX_BODY_BYTES` are refused with 413 (from Content-Length when given,
  else while streaming);
- JSON nested deeper than `MAX_JSON_DEPTH` with 400, by a scan that never recurses;
- a NUL character anywhere in the path, the query string or the body (raw, `%00` or the JSON
  escape `\\u0000`), and `NaN`/`Infinity` in a JSON body, with 422 — for every route, before
  login too, so no handler and no query ever sees them.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from timemachine import untrusted
from timemachine.untrusted import NUL_MESSAGE

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
UNPROCESSABLE = HTTPStatus.UNPROCESSABLE_ENTITY


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `body` nests arrays/objects deeper than `limit` (brackets inside strings ignored).

    Not a validator: malformed JSON is left for the parser to reject."""
    return untrusted.json_depth_exceeds(body, limit)


def url_problem(scope: Scope) -> tuple[str, str] | None:
    """Where (`path`, `query`) and why the request's URL is refused (a NUL character), or
    None."""
    raw_path = scope.get("raw_path") or b""
    path = scope.get("path", "")
    query = scope.get("query_string", b"")
    if "\x00" in path or b"\x00" in unquote_to_bytes(raw_path):
        return "path", f"the path {NUL_MESSAGE}"
    if b"\x00" in unquote_to_bytes(query.replace(b"+", b" ")):
        return "query", f"the query string {NUL_MESSAGE}"
    return None


class BodyLimitMiddleware:
    """ASGI middleware: 413 for oversized bodies, 400 for over-deep JSON, 422 for NUL in the
    URL or body and for NaN/Infinity in JSON; others pass through with the already-read body
    replayed to the application."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        problem = url_problem(scope)
        if problem is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": problem[1][:120]})
                return
            await _unprocessable(send, problem[0], problem[1])
            return
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _reject(send, 413, "PayloadTooLarge", self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _reject(send, 413, "PayloadTooLarge", self._too_large())
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        scan = untrusted.scan_json(body)
        if scan.depth > self.max_depth:
            detail = f"the JSON body nests deeper than {self.max_depth} levels"
            await _reject(send, 400, "InvalidInputError", detail)
            return
        refused = _body_problem(scope, body, scan)
        if refused is not None:
            await _unprocessable(send, "body", f"the body {refused}")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body exceeds {self.max_bytes} bytes"


def _body_problem(scope: Scope, body: bytes, scan: untrusted.JsonScan) -> str | None:
    """NUL in any body; NaN/Infinity in a JSON one (a form body: NUL after %-decoding)."""
    content_type = _header(scope, b"content-type") or b""
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        decoded = unquote_to_bytes(body.replace(b"+", b" "))
        return NUL_MESSAGE if b"\x00" in decoded else None
    if content_type.startswith(b"multipart/"):
        return NUL_MESSAGE if b"\x00" in body else None
    return scan.problem(max_depth=len(body))  # the depth was checked before


async def _unprocessable(send: Send, where: str, message: str) -> None:
    """422 in FastAPI's request-validation shape (what the OpenAPI schema declares for 422)."""
    error = {"type": "value_error", "loc": [where], "msg": message, "input": None}
    await _send_json(send, UNPROCESSABLE, {"detail": [error]})


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value).lower()
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject(send: Send, status: int, error: str, detail: str) -> None:
    await _send_json(send, status, {"error": error, "detail": detail})


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
