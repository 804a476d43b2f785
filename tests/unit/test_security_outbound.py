"""The outbound-URL policy (issue 13, SSRF): what user-supplied URLs may point at, the check at
connect time against real loopback listeners, and the one error a user's upstream produces."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from timemachine.bus import LocalBus
from timemachine.errors import (
    DebugApiUnavailableError,
    OutboundPolicyError,
    OutboundRefusedError,
    RpcError,
)
from timemachine.orchestration.progress import Reporter
from timemachine.security.outbound import (
    UPSTREAM_FAILED,
    GuardedRpcClient,
    OutboundPolicy,
    is_public,
    redact_for_users,
)
from timemachine.store import ReplaySessions, open_database

BANNER = b"internal-service-banner-5f2c"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://017700000001/",
        "http://127.1/",
        "http://0177.0.0.1/",
        "http://[::1]:8545/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "http://10.0.0.8/",
        "http://172.16.3.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[fc00::1]/",
        "http://[fd12:3456::1]/",
        "http://0.0.0.0:8545/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://localhost:8545/",
        "ftp://rpc.example.com/",
        "file:///etc/passwd",
        "gopher://rpc.example.com/",
        "http:///nohost",
    ],
)
def test_non_public_hosts_and_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(OutboundPolicyError) as caught:
        OutboundPolicy().check_url(url)
    assert url not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/",
        "https://[2606:4700:4700::1111]/",
        "wss://1.1.1.1/ws",
        "https://rpc.does-not-resolve.invalid/v2/key",  # checked again when connecting
    ],
)
def test_public_hosts_pass(url: str) -> None:
    assert OutboundPolicy().check_url(url) == url


def test_an_admin_allows_hosts_by_ip_network_or_name_but_never_odd_forms() -> None:
    policy = OutboundPolicy.from_spec(" 127.0.0.1, 10.0.0.0/8 ,rpc-internal ,[::1]")
    for url in (
        "http://127.0.0.1:8545",
        "http://10.9.9.9/",
        "http://rpc-internal:8545/",
        "http://[::1]/",
    ):
        assert policy.check_url(url) == url
    for url in ("http://0x7f000001/", "http://2130706433/", "http://192.168.0.1/"):
        with pytest.raises(OutboundPolicyError):
            policy.check_url(url)


def test_is_public() -> None:
    assert is_public(ipaddress.ip_address("93.184.216.34"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not is_public(ipaddress.ip_address("2001:0:4136:e378:8000:63bf:80ff:fffe"))  # Teredo


def test_errors_shown_to_users_name_no_endpoint() -> None:
    message = (
        "cannot reach RPC at http://127.0.0.1:39123/v2/key (ConnectError); fork at "
        "ws://10.0.0.2:8546 and 127.0.0.1:8545, localhost:9 failed"
    )
    redacted = redact_for_users(message)
    assert redacted == (
        "cannot reach RPC at <url> (ConnectError); fork at <url> and <address>, <address> failed"
    )


# -- connect time, against real listeners ----------------------------------------------------


class Listener:
    """A real TCP server on 127.0.0.1 that counts connections and answers `reply`."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.read(65536)
        writer.write(self.reply)
        await writer.drain()
        writer.close()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
async def banner() -> AsyncIterator[tuple[Listener, int]]:
    """An 'internal service' answering HTTP 200 with a banner that must never be read back."""
    body = BANNER + b" redis_version:7.2.4"
    reply = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    listener = Listener(reply)
    port = await listener.start()
    yield listener, port
    await listener.stop()


async def _error_of(client: GuardedRpcClient) -> RpcError:
    try:
        await client.call("eth_chainId")
    except RpcError as error:
        return error
    finally:
        await client.aclose()
    raise AssertionError("the call did not fail")


async def test_loopback_is_refused_at_connect_time_without_connecting(
    banner: tuple[Listener, int],
) -> None:
    listener, port = banner
    for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0x7f000001"):
        client = GuardedRpcClient(f"http://{host}:{port}/", OutboundPolicy(), retries=0)
        error = await _error_of(client)
        assert isinstance(error, OutboundRefusedError)
        assert error.message == UPSTREAM_FAILED
    assert listener.connections == 0  # refused before any packet left


async def test_open_and_closed_ports_give_one_message_and_no_reply_text(
    banner: tuple[Listener, int],
) -> None:
    listener, port = banner
    policy = OutboundPolicy.from_spec("127.0.0.1")  # allowed, as an admin would
    opened = await _error_of(GuardedRpcClient(f"http://127.0.0.1:{port}/", policy, retries=0))
    closed = await _error_of(
        GuardedRpcClient(f"http://127.0.0.1:{_closed_port()}/", policy, retries=0)
    )
    assert listener.connections == 1
    assert str(opened) == str(closed) == UPSTREAM_FAILED
    assert BANNER.decode() not in str(opened)


async def test_json_rpc_error_text_is_not_read_back_but_its_class_is_kept() -> None:
    body = (
        b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,'
        b'"message":"the method debug_traceTransaction does not exist: ' + BANNER + b'"}}'
    )
    reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
    listener = Listener(reply % (len(body), body))
    port = await listener.start()
    try:
        client = GuardedRpcClient(
            f"http://127.0.0.1:{port}/", OutboundPolicy.from_spec("127.0.0.1"), retries=0
        )
        try:
            with pytest.raises(DebugApiUnavailableError) as caught:
                await client.call("debug_traceTransaction", ["0x" + "00" * 32])
        finally:
            await client.aclose()
    finally:
        await listener.stop()
    assert str(caught.value) == UPSTREAM_FAILED  # the engine still sees "no debug API"


async def test_an_allowed_listener_is_reached_and_answers() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"result":"0x1"}'
    reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
    listener = Listener(reply % (len(body), body))
    port = await listener.start()
    try:
        for spec, host in (("127.0.0.1", "127.0.0.1"), ("localhost", "localhost")):
            client = GuardedRpcClient(f"http://{host}:{port}/", OutboundPolicy.from_spec(spec))
            try:
                assert await client.call("eth_chainId") == "0x1"
            finally:
                await client.aclose()
    finally:
        await listener.stop()


def test_a_failed_session_shows_no_internal_endpoint(tmp_path: Path) -> None:
    """What a worker reports as a session's error (e.g. an anvil fork's or the devnet's failure)
    is stored with its URLs and addresses masked."""
    db = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with db.session() as s:
            session_id = (
                ReplaySessions(s)
                .create(owner="alice", kind="exploit", request={"exploit_id": "reentrancy-bank"})
                .id
            )
            ReplaySessions(s).start(session_id)
        Reporter(db, LocalBus(), session_id).fail(
            "cannot reach RPC at http://127.0.0.1:41999 (ConnectError); the fork at "
            "127.0.0.1:38211 has no state"
        )
        with db.session() as s:
            error = ReplaySessions(s).require(session_id).error
    finally:
        db.dispose()
    assert error == "cannot reach RPC at <url> (ConnectError); the fork at <address> has no state"
