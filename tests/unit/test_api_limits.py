"""Abuse limits: token buckets (in-process; the Redis one in tests/integration), 429 +
Retry-After per API key / user and per client IP, login throttling, the cap on active sessions
per user, CORS from settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import (
    ANALYST,
    PASSWORD,
    headers_for,
    isolated_env,
    make_settings,
    user,
)
from timemachine.api import create_app
from timemachine.models.auth import Role, Scope
from timemachine.security.accounts import create_api_key
from timemachine.security.principal import Principal
from timemachine.security.ratelimit import LocalRateLimiter, RedisRateLimiter

__all__ = ["isolated_env"]  # fixtures

START = "/api/time-machine/replay/exploit/start"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_local_bucket_allows_a_burst_then_refills() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(clock)
    assert [limiter.hit("k", rate=1.0, burst=3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit("k", rate=1.0, burst=3) == pytest.approx(1.0)
    assert limiter.hit("other", rate=1.0, burst=3) == 0.0  # buckets are per key
    clock.now += 0.5
    assert limiter.hit("k", rate=1.0, burst=3) == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.hit("k", rate=1.0, burst=3) == 0.0
    clock.now += 100
    assert [limiter.hit("k", rate=1.0, burst=3) for _ in range(4)][-1] > 0  # never above burst


def test_redis_failure_falls_back_to_in_process_limits() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    try:
        assert limiter.hit("k", rate=1.0, burst=1) == 0.0
        assert limiter.hit("k", rate=1.0, burst=1) > 0  # still limited, in-process
    finally:
        limiter.close()


def _client(data_dir: Path, **overrides: Any) -> TestClient:
    return TestClient(create_app(make_settings(data_dir, **overrides)))


@pytest.fixture
def tight(isolated_env: Path) -> Iterator[TestClient]:
    """Per-user/key: burst 3; per IP: burst 6 (both refill at 1/minute)."""
    with _client(
        isolated_env,
        rate_limit_per_minute=1,
        rate_limit_burst=3,
        ip_rate_limit_per_minute=1,
        ip_rate_limit_burst=6,
    ) as client:
        yield client


def _key(client: TestClient, username: str) -> dict[str, str]:
    owner = user(client, username, Role.ANALYST)
    principal = Principal(user_id=owner.id, username=owner.username, role=owner.role)
    db = client.app.state.timemachine.db  # type: ignore[attr-defined]
    _, key = create_api_key(db, principal, name="rl", scopes=[Scope.SESSIONS_READ])
    return {"Authorization": f"Bearer {key}"}


def test_per_key_limit_is_429_with_retry_after(tight: TestClient) -> None:
    first, second = _key(tight, "ann"), _key(tight, "ann")
    codes = [tight.get("/api/time-machine/sessions", headers=first).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = tight.get("/api/time-machine/sessions", headers=first)
    assert refused.json()["error"] == "RateLimitedError"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # another key of the same user has its own bucket (the IP's has 6 - 5 = 1 left)
    assert tight.get("/api/time-machine/sessions", headers=second).status_code == 200


def test_per_ip_limit_covers_every_credential_and_anonymous(tight: TestClient) -> None:
    users = [headers_for(tight, f"u{i}", Role.VIEWER) for i in range(4)]
    codes = [tight.get("/api/auth/me", headers=h).status_code for h in users * 2]
    assert codes[:6] == [200] * 6  # 8 requests from one IP, bucket of 6
    assert codes[6:] == [429, 429]
    anonymous = tight.get("/api/auth/me")
    assert anonymous.status_code == 429  # charged before credentials are even looked at
    assert "retry-after" in anonymous.headers
    assert tight.get("/api/system/health").status_code in (200, 503)  # health stays open


def test_login_is_throttled_per_username(isolated_env: Path) -> None:
    with _client(isolated_env, login_attempts_per_minute=1, login_burst=3) as client:
        user(client, "bob", Role.VIEWER)
        wrong = {"username": "bob", "password": "guess guess guess"}
        codes = [client.post("/api/auth/login", json=wrong).status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        blocked = client.post("/api/auth/login", json={"username": "bob", "password": PASSWORD})
        assert blocked.status_code == 429  # even the right password waits
        assert int(blocked.headers["retry-after"]) > 0
        admin = headers_for(client, "root", Role.ADMIN)
        entries = client.get(
            "/api/admin/audit", params={"action": "auth.login", "user": "bob"}, headers=admin
        ).json()["items"]
        assert [e["outcome"] for e in entries] == ["denied", "failure", "failure", "failure"]


def test_login_is_throttled_per_ip(isolated_env: Path) -> None:
    with _client(isolated_env, login_attempts_per_minute=1, login_burst=3) as client:
        codes = [
            client.post("/api/auth/login", json={"username": f"n{i}", "password": "x"}).status_code
            for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]  # spraying usernames from one address


def test_active_sessions_per_user_are_capped(isolated_env: Path) -> None:
    with _client(isolated_env, max_active_sessions_per_user=2) as client:
        alice = headers_for(client, ANALYST, Role.ANALYST)
        body = {"exploit_id": "reentrancy-bank"}
        started = [client.post(START, json=body, headers=alice) for _ in range(2)]
        assert [r.status_code for r in started] == [202, 202]
        refused = client.post(START, json=body, headers=alice)
        assert refused.status_code == 429
        assert refused.json()["error"] == "TooManyActiveSessionsError"
        assert "2 pending or running sessions" in refused.json()["detail"]
        assert "retry-after" in refused.headers
        bob = headers_for(client, "bob", Role.ANALYST)
        assert client.post(START, json=body, headers=bob).status_code == 202  # per user
        cancel = f"/api/time-machine/replay/{started[0].json()['session_id']}/cancel"
        assert client.post(cancel, headers=alice).status_code == 200
        assert client.post(START, json=body, headers=alice).status_code == 202


def test_cors_is_off_by_default_and_follows_settings(isolated_env: Path) -> None:
    preflight = {
        "Origin": "https://ui.example.org",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    with _client(isolated_env) as client:
        response = client.options("/api/time-machine/sessions", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    with _client(isolated_env, cors_origins="https://ui.example.org, https://b.example") as client:
        response = client.options("/api/time-machine/sessions", headers=preflight)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "https://ui.example.org"
        evil = client.options(
            "/api/time-machine/sessions", headers=preflight | {"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in evil.headers


def test_redis_failure_falls_back_on_the_event_loop_too() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0")

    async def charged() -> list[float]:
        return [await limiter.hit_async("k", rate=1.0, burst=1) for _ in range(2)]

    try:
        first, second = asyncio.run(charged())
        assert first == 0.0
        assert second > 0  # still limited, in-process
    finally:
        limiter.close()
