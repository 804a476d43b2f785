"""RpcClient against httpx.MockTransport: retries, error translation, redaction, batching."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from timemachine.chain.rpc import RpcClient, classify_error
from timemachine.errors import (
    ArchiveStateUnavailableError,
    DebugApiUnavailableError,
    InvalidInputError,
    MethodUnavailableError,
    RpcError,
    RpcRateLimitedError,
    RpcUnavailableError,
)
from timemachine.urls import redact_url

URL = "https://user:hunter2@eth.example.com:8443/v3/SECRETKEY?apikey=QUERYKEY"
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, *, retries: int = 3, backoff: float = 0.0) -> RpcClient:
    return RpcClient(URL, retries=retries, backoff=backoff, transport=httpx.MockTransport(handler))


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def ok(request: httpx.Request, result: Any) -> httpx.Response:
    return httpx.Response(200, json={"jsonrpc": "2.0", "id": body(request)["id"], "result": result})


def rpc_error(request: httpx.Request, code: int, message: str) -> httpx.Response:
    payload = {
        "jsonrpc": "2.0",
        "id": body(request)["id"],
        "error": {"code": code, "message": message},
    }
    return httpx.Response(200, json=payload)


def assert_redacted(message: str) -> None:
    for secret in ("SECRETKEY", "QUERYKEY", "hunter2", "user:", "/v3", "apikey"):
        assert secret not in message


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's backoff sleeps instead of sleeping."""
    recorded: list[float] = []

    async def fake_sleep(delay: float) -> None:
        recorded.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return recorded


class TestRetries:
    async def test_retries_429_and_5xx_then_succeeds(self) -> None:
        statuses = iter([429, 502, 503])

        def handler(request: httpx.Request) -> httpx.Response:
            status = next(statuses, 200)
            return ok(request, "0x10") if status == 200 else httpx.Response(status)

        async with client(handler) as rpc:
            assert await rpc.call("eth_blockNumber") == "0x10"
            assert rpc.http_requests == 4
            assert rpc.requests == 1

    async def test_backoff_doubles(self, sleeps: list[float]) -> None:
        statuses = iter([500, 500, 500])

        def handler(request: httpx.Request) -> httpx.Response:
            status = next(statuses, 200)
            return ok(request, "0x1") if status == 200 else httpx.Response(status)

        async with client(handler, backoff=0.25) as rpc:
            assert await rpc.call("eth_chainId") == "0x1"
        assert sleeps == [0.25, 0.5, 1.0]

    async def test_retry_after_lengthens_the_wait(self, sleeps: list[float]) -> None:
        statuses = iter([429])

        def handler(request: httpx.Request) -> httpx.Response:
            if next(statuses, 200) == 429:
                return httpx.Response(429, headers={"retry-after": "3"})
            return ok(request, "0x1")

        async with client(handler, backoff=0.25) as rpc:
            await rpc.call("eth_chainId")
        assert sleeps == [3.0]

    async def test_retry_after_wait_stays_capped(self, sleeps: list[float]) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(429, headers={"retry-after": "30"})

        async with client(handler, retries=4, backoff=0.25) as rpc:
            with pytest.raises(RpcRateLimitedError):
                await rpc.call("eth_chainId")
        assert max(sleeps) <= 30.0

    async def test_429_forever_is_rate_limited(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(429)

        async with client(handler, retries=2) as rpc:
            with pytest.raises(RpcRateLimitedError, match="429") as caught:
                await rpc.call("eth_blockNumber")
            assert rpc.http_requests == 3
        assert_redacted(str(caught.value))
        assert caught.value.http_status == 502

    async def test_5xx_forever_is_unavailable(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(503)

        async with client(handler, retries=1) as rpc:
            with pytest.raises(RpcUnavailableError, match="503"):
                await rpc.call("eth_blockNumber")
            assert rpc.http_requests == 2

    async def test_non_retryable_status_is_not_retried(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(404)

        async with client(handler) as rpc:
            with pytest.raises(RpcError, match="404"):
                await rpc.call("eth_blockNumber")
            assert rpc.http_requests == 1


class TestTransportErrors:
    async def test_connection_error_is_unavailable_and_redacted(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        async with client(handler, retries=2) as rpc:
            with pytest.raises(RpcUnavailableError) as caught:
                await rpc.call("eth_blockNumber")
            assert rpc.http_requests == 3
        message = str(caught.value)
        assert "https://eth.example.com:8443" in message
        assert "ConnectError" in message
        assert_redacted(message)

    async def test_timeout_is_unavailable(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        async with client(handler, retries=1) as rpc:
            with pytest.raises(RpcUnavailableError, match="timed out") as caught:
                await rpc.call("eth_blockNumber")
        assert_redacted(str(caught.value))

    async def test_recovers_after_a_connection_error(self) -> None:
        failures = iter([True])

        def handler(request: httpx.Request) -> httpx.Response:
            if next(failures, False):
                raise httpx.ConnectError("reset", request=request)
            return ok(request, "0x5")

        async with client(handler) as rpc:
            assert await rpc.call("eth_blockNumber") == "0x5"


class TestErrorTranslation:
    async def test_missing_debug_api(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return rpc_error(
                request,
                -32601,
                "the method debug_traceTransaction does not exist/is not available",
            )

        async with client(handler) as rpc:
            with pytest.raises(DebugApiUnavailableError, match="debug_traceTransaction") as caught:
                await rpc.call("debug_traceTransaction", ["0x" + "00" * 32, {}])
        assert isinstance(caught.value, MethodUnavailableError)
        assert_redacted(str(caught.value))

    async def test_missing_other_method(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return rpc_error(request, -32601, "Method not found")

        async with client(handler) as rpc:
            with pytest.raises(MethodUnavailableError) as caught:
                await rpc.call("trace_block", ["latest"])
        assert not isinstance(caught.value, DebugApiUnavailableError)

    async def test_missing_trie_node_needs_an_archive_node(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return rpc_error(request, -32000, "missing trie node 1f2e3d (path ) state not found")

        async with client(handler) as rpc:
            with pytest.raises(ArchiveStateUnavailableError, match="archive"):
                await rpc.call("eth_getBalance", ["0x" + "11" * 20, "0x1"])

    async def test_other_errors_keep_their_code(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return rpc_error(request, 3, "execution reverted")

        async with client(handler) as rpc:
            with pytest.raises(RpcError, match="execution reverted") as caught:
                await rpc.call("eth_call", [{}, "latest"])
        assert type(caught.value) is RpcError
        assert caught.value.code == 3

    def test_classify_error_by_message(self) -> None:
        error = classify_error("http://h", "eth_foo", None, "the method eth_foo does not exist")
        assert isinstance(error, MethodUnavailableError)
        error = classify_error("http://h", "eth_call", -32000, "header not found")
        assert isinstance(error, ArchiveStateUnavailableError)

    async def test_non_json_body(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, text="<html>Bad gateway page</html>")

        async with client(handler) as rpc:
            with pytest.raises(RpcError, match="not JSON") as caught:
                await rpc.call("eth_blockNumber")
        assert_redacted(str(caught.value))

    async def test_non_object_reply_to_a_call(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json=[1, 2])

        async with client(handler) as rpc:
            with pytest.raises(RpcError, match="non-object"):
                await rpc.call("eth_blockNumber")

    async def test_auth_failure_with_json_body_raises(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(401, json={"message": "invalid project id"})

        async with client(handler) as rpc:
            with pytest.raises(RpcError):
                await rpc.call("eth_getTransactionByHash", ["0x" + "00" * 32])


class TestBatch:
    async def test_results_follow_call_order_when_replies_do_not(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            payload = body(request)
            if isinstance(payload, dict):
                return ok(request, payload["method"])
            replies = [
                {"jsonrpc": "2.0", "id": call["id"], "result": call["method"]} for call in payload
            ]
            return httpx.Response(200, json=list(reversed(replies)))

        methods = ["eth_chainId", "eth_blockNumber", "eth_gasPrice"]
        async with client(handler) as rpc:
            assert await rpc.batch([(m, []) for m in methods]) == methods
            assert rpc.requests == 3
            assert rpc.http_requests == 1
            await rpc.call("eth_chainId")
            assert rpc.requests == 4

    async def test_ids_stay_unique_across_calls_and_batches(self) -> None:
        seen: list[int] = []

        def handler(request: httpx.Request) -> httpx.Response:
            payload = body(request)
            calls = payload if isinstance(payload, list) else [payload]
            seen.extend(call["id"] for call in calls)
            replies = [{"jsonrpc": "2.0", "id": call["id"], "result": None} for call in calls]
            return httpx.Response(200, json=replies if isinstance(payload, list) else replies[0])

        async with client(handler) as rpc:
            await rpc.call("eth_chainId")
            await rpc.batch([("eth_chainId", []), ("eth_chainId", [])])
            await rpc.call("eth_chainId")
        assert len(seen) == len(set(seen)) == 4

    async def test_empty_batch_sends_nothing(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise AssertionError("no request expected")

        async with client(handler) as rpc:
            assert await rpc.batch([]) == []
            assert rpc.http_requests == 0

    async def test_a_failing_call_fails_the_batch(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            first, second = body(request)
            return httpx.Response(
                200,
                json=[
                    {"jsonrpc": "2.0", "id": first["id"], "result": "0x1"},
                    {
                        "jsonrpc": "2.0",
                        "id": second["id"],
                        "error": {"code": -32000, "message": "missing trie node abc"},
                    },
                ],
            )

        calls = [("eth_chainId", []), ("eth_getBalance", ["0x" + "11" * 20, "0x1"])]
        async with client(handler) as rpc:
            with pytest.raises(ArchiveStateUnavailableError):
                await rpc.batch(calls)

    async def test_a_reply_left_out_fails_the_batch(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            first = body(request)[0]
            return httpx.Response(200, json=[{"jsonrpc": "2.0", "id": first["id"], "result": 1}])

        async with client(handler) as rpc:
            with pytest.raises(RpcError, match="eth_gasPrice"):
                await rpc.batch([("eth_chainId", []), ("eth_gasPrice", [])])

    async def test_whole_batch_error_object(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            error = {"code": -32601, "message": "batch requests are not supported"}
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": None, "error": error})

        async with client(handler) as rpc:
            with pytest.raises(MethodUnavailableError):
                await rpc.batch([("eth_chainId", []), ("eth_blockNumber", [])])

    async def test_non_list_reply(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json="nope")

        async with client(handler) as rpc:
            with pytest.raises(RpcError, match="non-list"):
                await rpc.batch([("eth_chainId", [])])

    async def test_batch_retries_as_a_whole(self) -> None:
        statuses = iter([503])

        def handler(request: httpx.Request) -> httpx.Response:
            if next(statuses, 200) == 503:
                return httpx.Response(503)
            replies = [{"jsonrpc": "2.0", "id": c["id"], "result": 7} for c in body(request)]
            return httpx.Response(200, json=replies)

        async with client(handler) as rpc:
            assert await rpc.batch([("a", []), ("b", [])]) == [7, 7]
            assert rpc.requests == 2
            assert rpc.http_requests == 2


class TestUrls:
    @pytest.mark.parametrize(
        "url", ["ftp://example.com", "localhost:8545", "http://", "ws://127.0.0.1:8545", ""]
    )
    def test_invalid_url(self, url: str) -> None:
        with pytest.raises(InvalidInputError, match="http"):
            RpcClient(url)

    @pytest.mark.parametrize("url", ["http://localhost:99999", "http://localhost:abc"])
    def test_invalid_port(self, url: str) -> None:
        with pytest.raises(InvalidInputError):
            RpcClient(url)

    @pytest.mark.parametrize(
        ("url", "label"),
        [
            (URL, "https://eth.example.com:8443"),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            ("https://rpc.example.org/", "https://rpc.example.org"),
        ],
    )
    def test_redact_url(self, url: str, label: str) -> None:
        assert redact_url(url) == label
        assert RpcClient(url).label == label
