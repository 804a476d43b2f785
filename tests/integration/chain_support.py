"""Real misbehaving providers on loopback for the chain-access tests: a port nobody listens on, a
listener that accepts and never answers, one that answers garbage or HTTP 429, and a TCP proxy
that can be killed and restarted on the same port (a provider going down and coming back)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from timemachine.chain.jsonrpc_server import JsonRpcServer
from timemachine.forks.process import free_port


def dead_url() -> str:
    """A URL whose port nobody listens on (connection refused), with a key in its path."""
    return f"http://127.0.0.1:{free_port()}/v3/SECRET-KEY-DEAD"


@contextlib.asynccontextmanager
async def hanging_provider() -> AsyncIterator[str]:
    """Accepts connections, reads, and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while await reader.read(65536):
                pass

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/SECRET-KEY-HANG"
    finally:
        for writer in held:
            writer.close()
        server.close()


@contextlib.asynccontextmanager
async def garbage_provider() -> AsyncIterator[str]:
    """Answers every request with HTTP 200 and a body that is not JSON."""

    async def garbage(_: bytes, __: bytes) -> tuple[int, bytes]:
        return 200, b"<html>upstream error \x00\xff</html>"

    server = JsonRpcServer(raw=garbage)
    await server.start()
    try:
        yield server.url + "/SECRET-KEY-GARBAGE"
    finally:
        await server.stop()


class RateLimitedProvider:
    """Answers HTTP 429 with `Retry-After` to the first `limited` requests, then forwards to
    `upstream` (after `delay` seconds). Counts requests, and the most it had in flight."""

    def __init__(
        self, upstream: str, *, retry_after: float = 1, limited: int = 0, delay: float = 0.0
    ) -> None:
        self.upstream = upstream
        self.retry_after = retry_after
        self.limited = limited
        self.delay = delay
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.stamps: list[float] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            async with httpx.AsyncClient() as client:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = next(
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    )
                    body = await reader.readexactly(length)
                    self.requests += 1
                    self.stamps.append(time.monotonic())
                    self.in_flight += 1
                    self.max_in_flight = max(self.max_in_flight, self.in_flight)
                    await asyncio.sleep(self.delay)
                    self.in_flight -= 1
                    if self.requests <= self.limited:
                        content = b'{"error":"too many requests"}'
                        writer.write(
                            b"HTTP/1.1 429 Too Many Requests\r\nretry-after: %d\r\n"
                            b"content-length: %d\r\n\r\n"
                            % (int(self.retry_after), len(content))
                            + content
                        )
                    else:
                        reply = await client.post(
                            self.upstream,
                            content=body,
                            headers={"content-type": "application/json"},
                        )
                        writer.write(
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                            b"content-length: %d\r\n\r\n" % len(reply.content) + reply.content
                        )
                    await writer.drain()
        writer.close()


class TcpProxy:
    """Forwards 127.0.0.1:port to a target port byte for byte (HTTP and WebSocket alike).
    `stop` kills the listener and every open connection; `start` brings it back on the same
    port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update({writer, up_writer})


async def rpc(url: str, method: str, *params: Any) -> Any:
    """One JSON-RPC call straight to `url` (no pool), for driving the test chains."""
    async with httpx.AsyncClient(timeout=10) as client:
        reply = (
            await client.post(
                url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
            )
        ).json()
    if "error" in reply:
        raise AssertionError(f"{method} failed: {reply['error']}")
    return reply["result"]
