"""JSON-RPC over one WebSocket (`websockets`): calls, batches and `eth_subscribe` notifications.

The connection is opened on first use; a reader task routes replies to their callers by id and
subscription notifications to per-subscription queues. When the socket drops, every waiting call
fails with RpcUnavailableError and every subscription ends (its queue receives the error), so the
pool fails over and the streams reconnect and resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from timemachine.chain.rpc import Call, raise_first_error, redact_url, reply_result
from timemachine.errors import RpcBadResponseError, RpcError, RpcUnavailableError
from timemachine.lifecycle import AsyncCloseable

MAX_MESSAGE = 64 * 2**20  # full blocks with many transactions


class WsRpcClient(AsyncCloseable):
    """One WebSocket endpoint with the call interface of `RpcClient`."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        self.url = url
        self.label = redact_url(url)
        self.timeout = timeout
        self.requests = 0
        self.http_requests = 0
        self._ids = itertools.count(1)
        self._socket: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: dict[str, asyncio.Queue[Any]] = {}
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close()
            self._socket = None
        self._fail_all(RpcUnavailableError(f"{self.label}: connection closed"))

    @property
    def connected(self) -> bool:
        return self._socket is not None and self._reader is not None and not self._reader.done()

    async def _connection(self) -> ClientConnection:
        async with self._lock:
            if self.connected:
                assert self._socket is not None
                return self._socket
            try:
                self._socket = await asyncio.wait_for(
                    connect(self.url, max_size=MAX_MESSAGE, open_timeout=None), self.timeout
                )
            except (OSError, TimeoutError, WebSocketException) as exc:
                raise RpcUnavailableError(
                    f"cannot reach RPC at {self.label} ({type(exc).__name__}); is the node "
                    "running and the URL right?"
                ) from None
            self.http_requests += 1
            self._reader = asyncio.create_task(self._read(self._socket))
            return self._socket

    async def _read(self, socket: ClientConnection) -> None:
        error: RpcError = RpcUnavailableError(f"{self.label} closed the WebSocket")
        try:
            async for message in socket:
                try:
                    self._dispatch(json.loads(message))
                except ValueError:
                    error = RpcBadResponseError(f"{self.label} sent a frame that is not JSON")
                    break
        except (OSError, WebSocketException):
            pass
        finally:
            self._socket = None
            with contextlib.suppress(Exception):
                await socket.close()
            self._fail_all(error)

    def _dispatch(self, message: Any) -> None:
        items = message if isinstance(message, list) else [message]
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("method") == "eth_subscription":
                params = item.get("params") or {}
                queue = self._subscriptions.get(str(params.get("subscription")))
                if queue is not None:
                    queue.put_nowait(params.get("result"))
                continue
            future = self._waiting.pop(item.get("id"), None)  # type: ignore[arg-type]
            if future is not None and not future.done():
                future.set_result(item)

    def _fail_all(self, error: RpcError) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()
        for queue in self._subscriptions.values():
            queue.put_nowait(error)
        self._subscriptions.clear()

    async def _send(self, payload: list[dict[str, Any]]) -> list[dict[str, Any]]:
        socket = await self._connection()
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in payload]
        for item, future in zip(payload, futures, strict=True):
            self._waiting[item["id"]] = future
        try:
            await socket.send(json.dumps(payload[0] if len(payload) == 1 else payload))
            async with asyncio.timeout(self.timeout):
                return list(await asyncio.gather(*futures))
        except TimeoutError:
            raise RpcUnavailableError(
                f"{self.label} timed out (no WebSocket reply); check the node or raise RPC timeout"
            ) from None
        except (OSError, WebSocketException) as exc:
            raise RpcUnavailableError(
                f"{self.label} dropped the WebSocket ({type(exc).__name__})"
            ) from None
        finally:
            for item in payload:
                self._waiting.pop(item["id"], None)

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        self.requests += 1
        request = {
            "jsonrpc": "2.0",
            "id": next(self._ids),
            "method": method,
            "params": list(params),
        }
        (reply,) = await self._send([request])
        return reply_result(self.label, method, reply)

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        return raise_first_error(await self.batch_settled(calls))

    async def batch_settled(self, calls: Sequence[Call]) -> list[Any]:
        if not calls:
            return []
        self.requests += len(calls)
        payload = [
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
            for method, params in calls
        ]
        replies = await self._send(payload)
        settled: list[Any] = []
        for (method, _), reply in zip(calls, replies, strict=True):
            try:
                settled.append(reply_result(self.label, method, reply))
            except RpcError as error:
                settled.append(error)
        return settled

    async def subscribe(self, *params: Any) -> Subscription:
        """`eth_subscribe(*params)`; iterate the returned subscription for its notifications."""
        subscription = str(await self.call("eth_subscribe", list(params)))
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._subscriptions[subscription] = queue
        return Subscription(self, subscription, queue)

    async def _unsubscribe(self, subscription: str) -> None:
        if self._subscriptions.pop(subscription, None) is not None and self.connected:
            with contextlib.suppress(RpcError):
                await self.call("eth_unsubscribe", [subscription])


class Subscription:
    """The notifications of one `eth_subscribe`; iteration raises RpcUnavailableError when the
    socket drops. `aclose` unsubscribes."""

    def __init__(self, client: WsRpcClient, subscription: str, queue: asyncio.Queue[Any]) -> None:
        self.client = client
        self.id = subscription
        self._queue = queue

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        item = await self._queue.get()
        if isinstance(item, RpcError):
            raise item
        return item

    async def aclose(self) -> None:
        await self.client._unsubscribe(self.id)
