"""A loopback JSON-RPC proxy, in its own process, that adds latency and counts calls.

Benchmarks put it between every tool and the upstream, so all of them pay the same simulated
network latency and every upstream call they cause (including anvil's and cast's own state
fetches) is counted the same way. Running it in a separate process keeps its work off the event
loop of the Python API being measured.

    python benchmarks/rpc_proxy.py UPSTREAM_URL LATENCY_SECONDS   # prints its URL, then serves
    GET /stats -> {"http_requests", "calls", "methods"};  POST /reset -> zeroes the counters
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx

from timemachine.chain.jsonrpc_server import JsonRpcServer


class ProxyServer:
    def __init__(self, upstream: str, latency: float) -> None:
        self.upstream = upstream
        self.latency = latency
        self.http_requests = 0
        self.calls = 0
        self.methods: Counter[str] = Counter()
        self.client = httpx.AsyncClient(timeout=120.0, verify=False)

    async def answer(self, request_line: bytes, body: bytes) -> tuple[int, bytes]:
        if request_line.startswith(b"GET /stats"):
            stats = {"http_requests": self.http_requests, "calls": self.calls}
            return 200, json.dumps(stats | {"methods": dict(self.methods)}).encode()
        if request_line.startswith(b"POST /reset"):
            self.http_requests = self.calls = 0
            self.methods.clear()
            return 200, b"{}"
        self.count(body)
        await asyncio.sleep(self.latency)
        response = await self.client.post(
            self.upstream, content=body, headers={"content-type": "application/json"}
        )
        return response.status_code, response.content

    def count(self, body: bytes) -> None:
        self.http_requests += 1
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
            calls = payload if isinstance(payload, list) else [payload]
            self.calls += len(calls)
            self.methods.update(str(call.get("method")) for call in calls)


async def _main(upstream: str, latency: float) -> None:
    proxy = ProxyServer(upstream, latency)
    server = JsonRpcServer(raw=proxy.answer)
    await server.start()
    sys.stdout.write(f"{server.url}\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


class ProxyProcess:
    """Handle on a proxy subprocess: its URL, its counters, and a reset."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client(timeout=10.0)

    def reset(self) -> None:
        self._http.post(f"{self.url}/reset")

    def stats(self) -> dict[str, Any]:
        return dict(self._http.get(f"{self.url}/stats").json())


@contextlib.contextmanager
def rpc_proxy(upstream: str, latency: float) -> Iterator[ProxyProcess]:
    """Run the proxy in a child process for the duration of the block."""
    process = subprocess.Popen(
        [sys.executable, __file__, upstream, str(latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield ProxyProcess(process.stdout.readline().strip())
    finally:
        process.terminate()
        process.wait(timeout=5)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(sys.argv[1], float(sys.argv[2])))
