"""A JSON-RPC front that forwards to a real node but, like many hosted providers, rejects the
debug_* namespace with "method not found"."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def _reject(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": call.get("id"),
        "error": {"code": -32601, "message": f"the method {call.get('method')} does not exist"},
    }


@contextlib.contextmanager
def node_without_debug_api(upstream: str, rejected: tuple[str, ...] = ("debug_",)) -> Iterator[str]:
    """Serve on a free loopback port for the duration of the block; yields its URL. Methods
    starting with one of `rejected` are answered "method not found"."""
    client = httpx.Client(timeout=30.0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            payload = json.loads(body)
            calls = payload if isinstance(payload, list) else [payload]
            allowed = [c for c in calls if not str(c.get("method", "")).startswith(rejected)]
            forwarded: dict[Any, Any] = {}
            if allowed:
                replies = client.post(
                    upstream, json=allowed, headers={"content-type": "application/json"}
                ).json()
                forwarded = {reply["id"]: reply for reply in replies}
            answers = [forwarded.get(c.get("id")) or _reject(c) for c in calls]
            data = json.dumps(answers if isinstance(payload, list) else answers[0]).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        client.close()
