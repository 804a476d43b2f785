"""Issue 13 in-process: tokens revoked by logout, password change and disable (REST 401 at once,
open WebSockets closed 1008), WebSocket caps per user and per IP (4429), X-Forwarded-For only
from trusted proxies, and login delays per (username, IP) that never lock the owner out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.api_support import PASSWORD, headers_for, isolated_env, make_settings, user
from timemachine.api import create_app
from timemachine.api.ws_limits import POLICY_VIOLATION_CLOSE
from timemachine.models.auth import Role
from timemachine.security import accounts

__all__ = ["isolated_env"]  # fixtures

ME = "/api/auth/me"
LOGIN = "/api/auth/login"


def _app(data_dir: Path, **overrides: Any) -> TestClient:
    return TestClient(create_app(make_settings(data_dir, **overrides)))


@pytest.fixture
def app(isolated_env: Path) -> Iterator[TestClient]:
    with _app(isolated_env, ws_max_per_user=2, ws_max_per_ip=3) as client:
        yield client


def _login(client: TestClient, username: str, **headers: str) -> dict[str, Any]:
    response = client.post(
        LOGIN, json={"username": username, "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _db(client: TestClient) -> Any:
    return client.app.state.timemachine.db  # type: ignore[attr-defined]


def test_logout_revokes_the_access_token_at_once(app: TestClient) -> None:
    user(app, "carol", Role.ANALYST)
    phone, laptop = _login(app, "carol"), _login(app, "carol")
    assert app.get(ME, headers=_bearer(phone)).status_code == 200
    out = app.post(
        "/api/auth/logout", json={"refresh_token": phone["refresh_token"]}, headers=_bearer(phone)
    )
    assert out.status_code == 200
    refused = app.get(ME, headers=_bearer(phone))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    assert (
        app.post("/api/auth/refresh", json={"refresh_token": phone["refresh_token"]}).status_code
        == 401
    )
    assert app.get(ME, headers=_bearer(laptop)).status_code == 200  # another login stays


def test_password_change_revokes_every_earlier_token(app: TestClient) -> None:
    user(app, "dave", Role.ANALYST)
    before = _login(app, "dave")
    accounts.set_password(_db(app), "dave", PASSWORD + "!")  # `timemachine users set-password`
    assert app.get(ME, headers=_bearer(before)).status_code == 401
    after = app.post(LOGIN, json={"username": "dave", "password": PASSWORD + "!"})
    assert app.get(ME, headers=_bearer(after.json())).status_code == 200


def test_disable_revokes_and_reenable_does_not_revive(app: TestClient) -> None:
    erin = user(app, "erin", Role.ANALYST)
    tokens = _login(app, "erin")
    admin = headers_for(app, "root", Role.ADMIN)
    assert (
        app.patch(f"/api/admin/users/{erin.id}", json={"disabled": True}, headers=admin).status_code
        == 200
    )
    assert app.get(ME, headers=_bearer(tokens)).status_code == 401
    assert (
        app.patch(
            f"/api/admin/users/{erin.id}", json={"disabled": False}, headers=admin
        ).status_code
        == 200
    )
    assert app.get(ME, headers=_bearer(tokens)).status_code == 401  # still revoked
    assert app.get(ME, headers=_bearer(_login(app, "erin"))).status_code == 200


def _close_code(ws: Any) -> int:
    """Read until the server closes; its close code."""
    for _ in range(50):
        try:
            ws.receive_json()
        except WebSocketDisconnect as closed:
            return int(closed.code)
    raise AssertionError("the socket stayed open")


@pytest.mark.parametrize("how", ["disable", "logout"])
def test_an_open_websocket_is_closed_on_revocation(app: TestClient, how: str) -> None:
    frank = user(app, "frank", Role.ANALYST)
    tokens = _login(app, "frank")
    with app.websocket_connect("/ws/status", headers=_bearer(tokens)) as ws:
        assert ws.receive_json()["type"] == "hello"
        if how == "disable":
            admin = headers_for(app, "root", Role.ADMIN)
            app.patch(f"/api/admin/users/{frank.id}", json={"disabled": True}, headers=admin)
        else:
            app.post(
                "/api/auth/logout",
                json={"refresh_token": tokens["refresh_token"]},
                headers=_bearer(tokens),
            )
        error = ws.receive_json()
        assert error["error"] == "AuthenticationError"
        assert _close_code(ws) == POLICY_VIOLATION_CLOSE


def test_websockets_are_capped_per_user(app: TestClient) -> None:
    grace = headers_for(app, "grace", Role.VIEWER)
    with app.websocket_connect("/ws/status", headers=grace) as one:
        assert one.receive_json()["type"] == "hello"
        with app.websocket_connect("/ws/status", headers=grace) as two:
            assert two.receive_json()["type"] == "hello"
            with app.websocket_connect("/ws/status", headers=grace) as three:
                refusal = three.receive_json()
                assert refusal["error"] == "RateLimitedError"
                assert "at most 2" in refusal["detail"]
                assert _close_code(three) == 4429
            other = headers_for(app, "heidi", Role.VIEWER)  # another user: own cap, same IP
            with app.websocket_connect("/ws/status", headers=other) as four:
                assert four.receive_json()["type"] == "hello"
                with app.websocket_connect("/ws/status", headers=other) as five:
                    assert "from this address" in five.receive_json()["detail"]  # IP cap: 3
                    assert _close_code(five) == 4429
    with app.websocket_connect("/ws/status", headers=grace) as again:  # slots were released
        assert again.receive_json()["type"] == "hello"


def test_forwarded_for_is_ignored_without_trusted_proxies(isolated_env: Path) -> None:
    with _app(isolated_env, login_attempts_per_minute=1, login_burst=2) as client:
        wrong = {"username": "nobody", "password": "not the password"}
        assert [client.post(LOGIN, json=wrong).status_code for _ in range(2)] == [401, 401]
        spoofed = [
            client.post(LOGIN, json=wrong, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            for i in range(12)
        ]
        assert {r.status_code for r in spoofed} == {429}
        admin = headers_for(client, "root", Role.ADMIN)
        entries = client.get(
            "/api/admin/audit", params={"action": "auth.login", "limit": 100}, headers=admin
        ).json()["items"]
        assert {e["ip"] for e in entries} == {"testclient"}  # the peer, never the header


def test_owner_logs_in_from_elsewhere_while_an_address_guesses(isolated_env: Path) -> None:
    """Behind a trusted proxy (`*` here, so the test client's peer counts as one)."""
    with _app(
        isolated_env, forwarded_allow_ips="*", login_free_failures=3, login_delay_seconds=60
    ) as client:
        user(client, "ivan", Role.ANALYST)
        attacker = {"X-Forwarded-For": "203.0.113.9"}
        wrong = {"username": "ivan", "password": "wrong password guess"}
        codes = [client.post(LOGIN, json=wrong, headers=attacker).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 401, 429]  # 3 free, the 4th fails and starts a delay
        right = {"username": "ivan", "password": PASSWORD}
        delayed = client.post(LOGIN, json=right, headers=attacker)
        assert delayed.status_code == 429
        assert int(delayed.headers["retry-after"]) > 0
        owner = client.post(LOGIN, json=right, headers={"X-Forwarded-For": "198.51.100.7"})
        assert owner.status_code == 200  # the account is not locked
        admin = headers_for(client, "root", Role.ADMIN)
        entries = client.get(
            "/api/admin/audit", params={"action": "auth.login", "user": "ivan"}, headers=admin
        ).json()["items"]
        assert entries[0]["outcome"] == "success"
        assert entries[0]["ip"] == "198.51.100.7"
        assert {e["ip"] for e in entries[1:]} == {"203.0.113.9"}
