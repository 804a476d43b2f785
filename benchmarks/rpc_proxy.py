"""A loopback JSON-RPC proxy that adds latency and counts what passes through it.

Benchmarks put it between every tool and the upstream, so all of them pay the same simulated
network latency and their upstream requests (including anvil's and cast's own state fetches)
are counted the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx


@dataclass
class ProxyStats:
    http_requests: int = 0
    calls: int = 0
    methods: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.http_requests = 0
        self.calls = 0
        self.methods.clear()


class RpcProxy:
    """Forward POSTs to `upstream` after `latency` seconds (a round trip to a remote node)."""

    def __init__(self, upstream: str, latency: float) -> None:
        self.upstream = upstream
        self.latency = latency
        self.stats = ProxyStats()
        self._client = httpx.AsyncClient(timeout=60.0, verify=False)
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._client.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length)
                self._count(body)
                await asyncio.sleep(self.latency)
                response = await self._client.post(
                    self.upstream, content=body, headers={"content-type": "application/json"}
                )
                writer.write(
                    b"HTTP/1.1 %d OK\r\ncontent-type: application/json\r\ncontent-length: %d"
                    b"\r\n\r\n" % (response.status_code, len(response.content))
                    + response.content
                )
                await writer.drain()
        writer.close()

    def _count(self, body: bytes) -> None:
        self.stats.http_requests += 1
        try:
            payload = json.loads(body)
        except ValueError:
            return
        calls = payload if isinstance(payload, list) else [payload]
        self.stats.calls += len(calls)
        self.stats.methods.update(str(call.get("method")) for call in calls)


@contextlib.asynccontextmanager
async def rpc_proxy(upstream: str, latency: float) -> AsyncIterator[RpcProxy]:
    proxy = RpcProxy(upstream, latency)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
