"""A minimal JSON-RPC-over-HTTP/1.1 server on loopback (keep-alive, POST bodies, no TLS).

Small on purpose: anvil forks talk to it as their upstream (the state gateway), and benchmarks
use it for a latency proxy. Requests are handed to one async function, JSON in, JSON out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[Any], Awaitable[Any]]
RawHandler = Callable[[bytes, bytes], Awaitable[tuple[int, bytes]]]
_PARSE_ERROR = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}


class JsonRpcServer:
    """Serve `handler` on 127.0.0.1:<free port>. `start()`, then `url`; `stop()` when done."""

    def __init__(self, handler: Handler | None = None, *, raw: RawHandler | None = None) -> None:
        self._handler = handler
        self._raw = raw
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=1.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError
        ):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.split(b"\r\n")
                length = 0
                for line in header_lines:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length)
                status, content = await self._answer(request_line, body)
                writer.write(
                    b"HTTP/1.1 %d OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n" % (status, len(content)) + content
                )
                await writer.drain()
        writer.close()

    async def _answer(self, request_line: bytes, body: bytes) -> tuple[int, bytes]:
        if self._raw is not None:
            return await self._raw(request_line, body)
        assert self._handler is not None
        try:
            payload = json.loads(body)
        except ValueError:
            return 200, json.dumps(_PARSE_ERROR).encode()
        return 200, json.dumps(await self._handler(payload)).encode()
