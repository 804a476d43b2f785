"""Async JSON-RPC client on httpx: batching, timeouts, retries with backoff, request counting.

Vendor errors (httpx exceptions, JSON-RPC error objects) are translated into the TimeMachineError
tree here, at the boundary, so callers only ever see errors whose message says what to do next.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from timemachine.errors import (
    ArchiveStateUnavailableError,
    DebugApiUnavailableError,
    InvalidInputError,
    MethodUnavailableError,
    RpcBadResponseError,
    RpcError,
    RpcRateLimitedError,
    RpcUnavailableError,
)
from timemachine.lifecycle import AsyncCloseable
from timemachine.urls import is_http_url
from timemachine.urls import redact_url as redact_url  # noqa: PLC0414 - re-exported

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_WAIT = 30.0
METHOD_NOT_FOUND = -32601
ARCHIVE_HINTS = (
    "missing trie node",
    "header not found",
    "historical state",
    "state not available",
    "state is not available",
    "pruned",
    "required historical state",
    "distance to target block exceeds",
    "old data not available",
    "blockoutofrange",  # anvil --prune-history
)
UNSUPPORTED_HINTS = ("method not found", "does not exist", "not supported", "unsupported method")

Call = tuple[str, Sequence[Any]]


class RpcClient(AsyncCloseable):
    """One upstream endpoint. Cheap to create; reuse it to keep the connection pool warm."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not is_http_url(url):
            raise InvalidInputError(
                f"RPC URL {redact_url(url)!r} is not a valid http(s) URL; pass e.g. "
                "--rpc-url http://127.0.0.1:8545"
            )
        self.url = url
        self.label = redact_url(url)
        self.retries = retries
        self.backoff = backoff
        self.requests = 0
        """JSON-RPC calls sent (a batch of n counts n), the figure providers bill by."""
        self.http_requests = 0
        self._ids = itertools.count(1)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            # Building a TLS context costs ~40 ms; plain-HTTP endpoints (every fork) skip it.
            verify=urlsplit(url).scheme == "https",
            transport=transport,
            headers={"content-type": "application/json"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Send one call and return its `result`, or raise the matching RpcError."""
        request_id = next(self._ids)
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
        self.requests += 1
        return reply_result(self.label, method, await self._post(payload))

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        """Send many calls in one HTTP request; results come back in call order.

        The first failing call raises its error; `batch_settled` returns errors instead.
        """
        return raise_first_error(await self.batch_settled(calls))

    async def batch_settled(self, calls: Sequence[Call]) -> list[Any]:
        """Like `batch`, but a failing call yields its RpcError in place of a result."""
        if not calls:
            return []
        first = next(self._ids)
        self._ids = itertools.count(first + len(calls))
        payload = [
            {"jsonrpc": "2.0", "id": first + offset, "method": method, "params": list(params)}
            for offset, (method, params) in enumerate(calls)
        ]
        self.requests += len(calls)
        reply = await self._post(payload)
        if isinstance(reply, dict):  # some nodes answer a whole batch with one error object
            reply_result(self.label, calls[0][0], reply)
            raise RpcError(f"{self.label} answered a batch with a single object")
        if not isinstance(reply, list):
            raise RpcBadResponseError(f"{self.label} answered a batch with a non-list JSON reply")
        by_id = {item.get("id"): item for item in reply if isinstance(item, dict)}
        results: list[Any] = []
        for offset, (method, _) in enumerate(calls):
            item = by_id.get(first + offset)
            if item is None:
                results.append(RpcError(f"{self.label} left {method} out of its batch reply"))
                continue
            try:
                results.append(reply_result(self.label, method, item))
            except RpcError as error:
                results.append(error)
        return results

    async def _post(self, payload: object) -> Any:
        """POST with retries; a timeout is retried once only (a node that accepts and never
        answers would otherwise hold the user for retries x RPC_TIMEOUT)."""
        delay = self.backoff
        timeouts = 0
        for attempt in range(self.retries + 1):
            last_try = attempt == self.retries
            try:
                self.http_requests += 1
                response = await self._http.post(self.url, json=payload)
            except httpx.TimeoutException as exc:
                timeouts += 1
                if last_try or timeouts > 1:
                    seconds = self._http.timeout.read
                    raise RpcUnavailableError(
                        f"{self.label} timed out: no answer within {seconds:g} s, {timeouts} "
                        f"time(s) ({type(exc).__name__}); check the node, or raise RPC_TIMEOUT "
                        f"(now {seconds:g} s)"
                    ) from exc
            except httpx.TransportError as exc:
                if last_try:
                    raise RpcUnavailableError(
                        f"cannot reach RPC at {self.label} ({type(exc).__name__}); is the node "
                        "running and the URL right?"
                    ) from exc
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return self._decode(response)
                if last_try:
                    if response.status_code == 429:
                        limited = RpcRateLimitedError(
                            f"{self.label} kept rate-limiting (HTTP 429) after {self.retries} "
                            "retries; slow down or use a key with a higher limit"
                        )
                        limited.retry_after = _retry_after(response) or None
                        raise limited
                    raise RpcUnavailableError(
                        f"{self.label} answered HTTP {response.status_code} after "
                        f"{self.retries} retries"
                    )
                delay = max(delay, _retry_after(response))
            await asyncio.sleep(min(delay, MAX_RETRY_WAIT))
            delay *= 2
        raise AssertionError("unreachable: the loop returns or raises on its last try")

    def _decode(self, response: httpx.Response) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError as exc:
            raise RpcBadResponseError(
                f"{self.label} answered HTTP {status} with a body that is not JSON; is this a "
                "JSON-RPC endpoint?"
            ) from exc
        json_rpc = isinstance(body, list) or (isinstance(body, dict) and "error" in body)
        if status >= 400 and not json_rpc:
            hint = "; check the API key" if status in (401, 403) else ""
            raise RpcBadResponseError(f"{self.label} refused the request (HTTP {status}){hint}")
        return body


def reply_result(label: str, method: str, reply: Any) -> Any:
    """The `result` of one JSON-RPC reply object, or the matching RpcError raised."""
    if not isinstance(reply, dict):
        raise RpcBadResponseError(f"{label} answered {method} with a non-object JSON reply")
    error = reply.get("error")
    if error is None:
        if "result" not in reply:
            raise RpcBadResponseError(f"{label} answered {method} with neither result nor error")
        return reply["result"]
    if isinstance(error, dict):
        code = error.get("code")
        message = str(error.get("message", error))
    else:
        code, message = None, str(error)
    raise classify_error(label, method, code, message)


def raise_first_error(settled: list[Any]) -> list[Any]:
    """The results of a settled batch, or the first RpcError among them raised."""
    for result in settled:
        if isinstance(result, RpcError):
            raise result
    return settled


def classify_error(label: str, method: str, code: int | None, message: str) -> RpcError:
    """Map a JSON-RPC error object to the most precise error of our tree (keeping its code)."""
    lowered = message.lower()
    unsupported = code == METHOD_NOT_FOUND or (
        any(hint in lowered for hint in UNSUPPORTED_HINTS) and method.lower() in lowered
    )
    if unsupported:
        if method.startswith("debug_"):
            return DebugApiUnavailableError(
                f"{label} does not expose {method} (debug API); use a node with the debug "
                "namespace enabled",
                code=code,
            )
        return MethodUnavailableError(f"{label} does not support {method}: {message}", code=code)
    if any(hint in lowered for hint in ARCHIVE_HINTS):
        return ArchiveStateUnavailableError(
            f"{label} has no historical state for this block ({message}); use an archive node",
            code=code,
        )
    return RpcError(f"{label} rejected {method}: {message}", code=code)


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return min(float(value), 30.0)
    except ValueError:
        return 0.0
