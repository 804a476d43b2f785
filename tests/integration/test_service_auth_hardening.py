"""Issue 13's attacks replayed against a live `timemachine serve` (uvicorn + a real Celery worker
on the embedded broker, temporary data directory):

- SSRF: credentials pointing at 0x7f000001, [::1], 169.254.169.254 are refused when stored; with
  127.0.0.1 allowed (as the test's admin), a replay through a real local listener and through a
  closed port fail with the same one message, and the listener's reply never comes back;
- revocation: logout and disable → the access token is refused at once, `users set-password`
  (another process) within the credential cache's `WATCH_SECONDS`, and an open WebSocket is
  closed (1008); the (cap+1)th WebSocket of a user is refused (4429);
- X-Forwarded-For from the loopback peer does not bypass an exhausted per-IP login bucket, and
  the audit log keeps the real address;
- behind a trusted proxy, the owner logs in from another address while one address guesses.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.integration.service_support import LiveServer, live_server, login, server_env
from timemachine.api.credential_cache import WATCH_SECONDS
from timemachine.security.outbound import UPSTREAM_FAILED

pytestmark = pytest.mark.integration
STARTUP_TIMEOUT = 90.0  # generous: CI machines may be loaded
BANNER = "internal-service-banner-9d41"
PASSWORD = "a long enough passphrase"


def _serve(folder: Path, anvil: Path, *, api_only: bool, **settings: str) -> Iterator[LiveServer]:
    folder.mkdir()
    env = server_env("FORWARDED_", "OUTBOUND_", "WS_MAX_", "LOGIN_") | {
        "TIME_MACHINE_DATA_DIR": str(folder),
        "ANVIL_PATH": str(anvil),
        "LOG_LEVEL": "WARNING",
        **{name.upper(): value for name, value in settings.items()},
    }
    arguments = ["--api-only"] if api_only else ["--workers", "1"]
    with live_server(folder, arguments, env, startup_timeout=STARTUP_TIMEOUT) as server:
        yield server


@pytest.fixture(scope="module")
def service(anvil_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The full service; 127.0.0.1 allowed as an outbound host (the test's local upstreams)."""
    yield from _serve(
        tmp_path_factory.mktemp("hardening") / "full",
        anvil_binary,
        api_only=False,
        outbound_allow_hosts="127.0.0.1",
        ws_max_per_user="3",
        rpc_retries="0",
        rpc_timeout="5",
    )


def _user(server: LiveServer, admin: dict[str, str], name: str, role: str = "analyst") -> str:
    body = {"username": name, "password": PASSWORD, "role": role}
    created = server.post("/api/admin/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    user_id: str = created.json()["id"]
    return user_id


class Banner:
    """A real TCP service on 127.0.0.1 (think Redis or an admin page) that answers any request
    with an HTTP 200 holding a banner an attacker would like to read back."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        body = f"{BANNER} redis_version:7.2.4".encode()
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                connection.settimeout(2)
                try:
                    connection.recv(65536)
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
                    )
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def _wait_failed(server: LiveServer, session_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = server.get(f"/api/time-machine/replay/{session_id}/status", headers=headers)
        body: dict[str, Any] = status.json()
        if body["status"] in ("failed", "completed", "cancelled"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"session {session_id} did not end")


def test_ssrf_through_a_stored_credential(service: LiveServer) -> None:
    admin = service.admin_headers()
    _user(service, admin, "mallory")
    mallory = {"Authorization": f"Bearer {login(service.base, 'mallory', PASSWORD)}"}
    for url in (
        "http://0x7f000001:6379/",
        "http://2130706433/",
        "http://[::1]:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1:8545/",
    ):
        refused = service.post(
            "/api/credentials", json={"chain_id": 1, "url": url}, headers=mallory
        )
        assert refused.status_code == 400, (url, refused.text)
        assert refused.json()["error"] == "OutboundPolicyError"

    banner = Banner()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    try:
        for chain_id, port in ((1, banner.port), (56, closed_port)):
            url = f"http://127.0.0.1:{port}/v2/key"
            body = {"chain_id": chain_id, "url": url}
            stored = service.post("/api/credentials", json=body, headers=mallory)
            assert stored.status_code == 201, stored.text
            assert stored.json()["hint"] == "http://***/…"
        errors = []
        for chain_id in (1, 56):
            tx = {"hash": "0x" + "ab" * 32, "chain_id": chain_id}
            started = service.post(
                "/api/time-machine/replay/transactions/start",
                json={"transactions": [tx]},
                headers=mallory,
            )
            assert started.status_code == 202, started.text
            ended = _wait_failed(service, started.json()["session_id"], mallory)
            assert ended["status"] == "failed"
            errors.append(ended["error"])
    finally:
        banner.close()
    assert banner.connections >= 1  # the open port was really reached
    assert errors == [UPSTREAM_FAILED, UPSTREAM_FAILED]  # open and closed: the same message
    assert BANNER not in json.dumps(errors)


async def _next_close(url: str, token: str, action: Any) -> tuple[list[dict[str, Any]], int]:
    """Open a WebSocket with `token`, wait for its hello, run `action`, then read until the
    server closes: (messages after the hello, close code)."""
    protocols: Any = ["timemachine", f"bearer.{token}"]
    async with websockets.connect(url, subprotocols=protocols) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        await asyncio.to_thread(action)
        messages = []
        code = None
        try:
            while True:
                messages.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
    assert code is not None, "the server did not close the socket"
    return messages, code


def _first_status_within(seconds: float, probe: Callable[[], int]) -> int:
    """`probe()` until it is not 200 or `seconds` have passed: its last status."""
    deadline = time.monotonic() + seconds
    status = probe()
    while status == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        status = probe()
    return status


def test_logout_password_change_and_disable_revoke_at_once(service: LiveServer) -> None:
    admin = service.admin_headers()
    user_id = _user(service, admin, "victor")
    ws_url = service.base.replace("http://", "ws://") + "/ws/status"

    def login() -> dict[str, Any]:
        body = {"username": "victor", "password": PASSWORD}
        response = service.post("/api/auth/login", json=body)
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    def me(tokens: dict[str, Any]) -> int:
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        return service.get("/api/auth/me", headers=headers).status_code

    # logout
    tokens = login()
    assert me(tokens) == 200

    def logout() -> None:
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        body = {"refresh_token": tokens["refresh_token"]}
        assert service.post("/api/auth/logout", json=body, headers=headers).status_code == 200
        assert me(tokens) == 401

    messages, code = asyncio.run(_next_close(ws_url, tokens["access_token"], logout))
    assert code == 1008
    assert messages[-1]["error"] == "AuthenticationError"

    # password change, by an operator with the CLI against the same store
    tokens = login()

    def set_password() -> None:
        done = subprocess.run(
            [sys.executable, "-m", "timemachine.cli.main", "users", "set-password", "victor",
             "--password-stdin"],
            input=(PASSWORD + "-new\n").encode(), env=service.env, capture_output=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
        assert _first_status_within(WATCH_SECONDS + 0.5, lambda: me(tokens)) == 401

    _, code = asyncio.run(_next_close(ws_url, tokens["access_token"], set_password))
    assert code == 1008

    # disable
    body = {"username": "victor", "password": PASSWORD + "-new"}
    tokens = service.post("/api/auth/login", json=body).json()

    def disable() -> None:
        patch = httpx.patch(
            f"{service.base}/api/admin/users/{user_id}",
            json={"disabled": True},
            headers=admin,
            timeout=10,
        )
        assert patch.status_code == 200
        assert me(tokens) == 401

    _, code = asyncio.run(_next_close(ws_url, tokens["access_token"], disable))
    assert code == 1008


async def _open_many(url: str, token: str, count: int) -> list[tuple[str, int | None]]:
    """Open `count` sockets at once: each one's first message type and close code (None while
    open)."""
    protocols: Any = ["timemachine", f"bearer.{token}"]
    sockets = [await websockets.connect(url, subprotocols=protocols) for _ in range(count)]
    results: list[tuple[str, int | None]] = []
    try:
        for ws in sockets:
            first = json.loads(await ws.recv())
            code = None
            if first["type"] == "error":
                try:
                    await asyncio.wait_for(ws.recv(), 10)
                except ConnectionClosed as closed:
                    code = closed.rcvd.code if closed.rcvd else None
            results.append((first.get("error", first["type"]), code))
    finally:
        for ws in sockets:
            await ws.close()
    return results


def test_the_websocket_cap_refuses_the_next_socket(service: LiveServer) -> None:
    admin = service.admin_headers()
    _user(service, admin, "wendy", role="viewer")
    token = login(service.base, "wendy", PASSWORD)
    ws_url = service.base.replace("http://", "ws://") + "/ws/status"
    results = asyncio.run(_open_many(ws_url, token, 4))  # WS_MAX_PER_USER=3
    assert results == [("hello", None)] * 3 + [("RateLimitedError", 4429)]


def test_forwarded_for_does_not_bypass_the_ip_bucket(anvil_binary: Path, tmp_path: Path) -> None:
    for server in _serve(
        tmp_path / "plain", anvil_binary, api_only=True, login_attempts_per_minute="1",
        login_burst="3",
    ):  # fmt: skip
        admin = server.admin_headers()  # the first of 3 attempts of 127.0.0.1
        wrong = {"username": "admin", "password": "not the password"}
        assert [server.post("/api/auth/login", json=wrong).status_code for _ in range(3)] == [
            401, 401, 429
        ]  # fmt: skip
        spoofed = [
            server.post(
                "/api/auth/login", json=wrong, headers={"X-Forwarded-For": f"198.51.100.{i}"}
            ).status_code
            for i in range(12)
        ]
        assert spoofed == [429] * 12
        entries = server.get(
            "/api/admin/audit", params={"action": "auth.login", "limit": 100}, headers=admin
        ).json()["items"]
        assert len(entries) == 16  # the admin's login, 3 guesses, 12 spoofed
        assert {entry["ip"] for entry in entries} == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_owner_logs_in_during_an_attack(
    anvil_binary: Path, tmp_path: Path
) -> None:
    for server in _serve(
        tmp_path / "proxied", anvil_binary, api_only=True, forwarded_allow_ips="127.0.0.1",
        login_free_failures="3", login_delay_seconds="30",
    ):  # fmt: skip
        admin = server.admin_headers()
        _user(server, admin, "olivia")
        attacker = {"X-Forwarded-For": "203.0.113.66"}
        owner = {"X-Forwarded-For": "192.0.2.10"}
        wrong = {"username": "olivia", "password": "guess number n"}
        right = {"username": "olivia", "password": PASSWORD}
        codes = [
            server.post("/api/auth/login", json=wrong, headers=attacker).status_code
            for _ in range(5)
        ]
        assert codes == [401, 401, 401, 401, 429]
        assert server.post("/api/auth/login", json=right, headers=attacker).status_code == 429
        assert server.post("/api/auth/login", json=right, headers=owner).status_code == 200
        entries = server.get(
            "/api/admin/audit",
            params={"action": "auth.login", "user": "olivia", "limit": 100},
            headers=admin,
        ).json()["items"]
        assert entries[0]["ip"] == "192.0.2.10"
        assert entries[0]["outcome"] == "success"
        assert {entry["ip"] for entry in entries[1:]} == {"203.0.113.66"}
