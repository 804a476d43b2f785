"""Operations endpoints: health, metrics, Celery tasks and workers, cleanup; unreachable broker."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import (
    ANALYST,
    client,
    completed_session,
    database,
    headers_for,
    isolated_env,
    make_settings,
    new_session,
)
from timemachine.api import create_app
from timemachine.api.health import count_anvil_processes
from timemachine.api.metrics import queue_lengths
from timemachine.models.auth import Role
from timemachine.store import ReplaySessions

__all__ = ["client", "isolated_env"]  # fixtures

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@pytest.fixture
def dead_broker_client(isolated_env: Path) -> Iterator[TestClient]:
    settings = make_settings(isolated_env, celery_broker_url=DEAD_BROKER)
    with TestClient(create_app(settings)) as test_client:
        test_client.headers.update(headers_for(test_client, ANALYST, Role.ANALYST))
        yield test_client


def admin(client: TestClient) -> dict[str, str]:
    return headers_for(client, "root", Role.ADMIN)


def test_health_reports_every_component(client: TestClient) -> None:
    response = client.get("/api/system/health", headers=admin(client))
    body = response.json()
    assert set(body["components"]) == {"database", "broker", "redis", "anvil", "disk", "forks"}
    assert body["components"]["database"]["status"] == "ok"
    assert body["components"]["broker"]["status"] == "ok"
    assert "embedded" in body["components"]["broker"]["detail"]
    assert body["components"]["redis"]["status"] == "skipped"
    degraded = [n for n, c in body["components"].items() if c["status"] == "degraded"]
    assert response.status_code == (503 if degraded else 200)
    assert body["status"] == ("degraded" if degraded else "healthy")


def test_health_is_503_with_a_dead_broker(dead_broker_client: TestClient) -> None:
    started = time.monotonic()
    response = dead_broker_client.get("/api/system/health", headers=admin(dead_broker_client))
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["components"]["broker"]["status"] == "degraded"
    assert "unreachable" in body["components"]["broker"]["detail"]


def test_redis_is_checked_when_configured(isolated_env: Path) -> None:
    settings = make_settings(isolated_env, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as test_client:
        body = test_client.get("/api/system/health", headers=admin(test_client)).json()
    assert body["components"]["redis"]["status"] == "degraded"
    assert body["status"] == "degraded"


def test_workers_and_active_tasks_on_the_embedded_broker(client: TestClient) -> None:
    workers = client.get("/api/celery/workers", headers=admin(client))
    assert workers.status_code == 200
    assert workers.json()["workers"] == {}
    assert "embedded broker" in workers.json()["note"]
    active = client.get("/api/tasks/active", headers=admin(client))
    assert active.status_code == 200
    assert active.json()["tasks"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/celery/workers"),
        ("get", "/api/tasks/active"),
        ("post", "/api/cleanup/expired-forks"),
        ("post", "/api/cleanup/temp-files"),
        ("post", "/api/time-machine/replay/exploit/start"),
    ],
)
def test_dead_broker_is_503_not_a_hang(
    dead_broker_client: TestClient, method: str, path: str
) -> None:
    started = time.monotonic()
    kwargs = {"json": {"exploit_id": "reentrancy-bank"}} if "start" in path else {}
    kwargs["headers"] = admin(dead_broker_client)
    response = getattr(dead_broker_client, method)(path, **kwargs)
    assert time.monotonic() - started < 15
    assert response.status_code == 503
    assert response.json()["error"] in {"BrokerUnreachableError", "BrokerUnavailableError"}


def test_a_start_that_cannot_be_queued_fails_the_session(dead_broker_client: TestClient) -> None:
    dead_broker_client.post(
        "/api/time-machine/replay/exploit/start", json={"exploit_id": "reentrancy-bank"}
    )
    page = dead_broker_client.get("/api/time-machine/sessions").json()
    assert page["total"] == 1
    assert page["items"][0]["status"] == "failed"
    assert "broker unavailable" in page["items"][0]["error"]


def test_task_status_of_a_session(client: TestClient) -> None:
    started = client.post(
        "/api/time-machine/replay/exploit/start", json={"exploit_id": "reentrancy-bank"}
    ).json()
    body = client.get(f"/api/tasks/{started['task_id']}/status").json()
    assert body["state"] == "PENDING"  # queued, no worker here
    assert body["session"]["id"] == started["session_id"]
    assert client.get("/api/tasks/not-a-task/status").status_code == 404  # not a task of mine
    unknown = client.get("/api/tasks/not-a-task/status", headers=admin(client)).json()
    assert unknown["state"] == "PENDING"
    assert unknown["session"] is None


def test_cleanup_old_sessions(client: TestClient) -> None:
    old = completed_session(client)
    fresh = completed_session(client)
    pending = new_session(client)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=48)
    from sqlalchemy import update

    from timemachine.store.tables import ReplaySession

    with database(client).session() as s:
        s.execute(
            update(ReplaySession).where(ReplaySession.id == old.id).values(finished_at=long_ago)
        )
    client.headers.update(admin(client))
    response = client.post("/api/cleanup/old-sessions", params={"age_hours": 24})
    assert response.status_code == 200
    assert response.json() == {"deleted": 1, "failed_stale": 0}
    with database(client).session() as s:
        sessions = ReplaySessions(s)
        assert sessions.get(old.id) is None
        assert sessions.get(fresh.id) is not None
        assert sessions.get(pending.id) is not None
    assert client.post("/api/cleanup/old-sessions", params={"age_hours": -1}).status_code == 422


def test_cleanup_one_session_cancels_then_deletes(client: TestClient) -> None:
    active = new_session(client)
    client.headers.update(admin(client))
    response = client.post(f"/api/cleanup/session/{active.id}")
    assert response.status_code == 200
    assert response.json() == {"session_id": active.id, "deleted": True, "cancelled": True}
    done = completed_session(client)
    assert client.post(f"/api/cleanup/session/{done.id}").json()["cancelled"] is False
    assert client.post("/api/cleanup/session/nope").status_code == 404


def test_cleanup_tasks_are_queued(client: TestClient) -> None:
    client.headers.update(admin(client))
    forks = client.post("/api/cleanup/expired-forks", params={"expiry_hours": 2})
    assert forks.status_code == 202
    assert forks.json()["task"] == "tasks.cleanup_tasks.cleanup_expired_forks"
    temp = client.post("/api/cleanup/temp-files")
    assert temp.status_code == 202
    assert temp.json()["task_id"] != forks.json()["task_id"]
    settings = client.app.state.timemachine.settings  # type: ignore[attr-defined]
    assert queue_lengths(settings)["cleanup"] == 2
    assert client.post("/api/cleanup/expired-forks", params={"expiry_hours": 0}).status_code == 422


def test_metrics(client: TestClient) -> None:
    completed_session(client)
    new_session(client)
    client.get("/api/time-machine/replay/abc/status")
    client.get("/api/time-machine/replay/def/status")
    client.get("/no/such/path")
    text = client.get("/metrics", headers=admin(client)).text
    route = "/api/time-machine/replay/{session_id}/status"
    assert (
        f'timemachine_http_request_duration_seconds_count{{method="GET",route="{route}",'
        'status="404"} 2.0' in text
    )
    assert 'route="<unmatched>"' in text
    assert "/no/such/path" not in text  # bounded label values
    assert "abc" not in text
    assert 'timemachine_sessions{status="completed"} 1.0' in text
    assert 'timemachine_sessions{status="pending"} 1.0' in text
    assert 'timemachine_replay_duration_seconds_count{kind="exploit"} 1.0' in text
    assert 'timemachine_queue_length{queue="replay"} 0.0' in text
    assert count_anvil_processes() is not None  # /proc is there, so the gauge must be too
    assert re.search(r"^timemachine_live_anvil_processes \d+\.0$", text, re.MULTILINE)


def test_openapi_lists_every_spec_path(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {
        "/api/time-machine/replay/exploit/start",
        "/api/time-machine/replay/transactions/start",
        "/api/time-machine/replay/{session_id}/status",
        "/api/time-machine/replay/{session_id}/cancel",
        "/api/time-machine/exploits",
        "/api/time-machine/exploits/{exploit_id}",
        "/api/time-machine/exploits/{exploit_id}/analyze",
        "/api/system/health",
        "/api/tasks/{task_id}/status",
        "/api/tasks/active",
        "/api/celery/workers",
        "/api/cleanup/session/{session_id}",
        "/api/cleanup/old-sessions",
        "/api/cleanup/expired-forks",
        "/api/cleanup/temp-files",
        "/api/time-machine/sessions",
        "/api/time-machine/sessions/{session_id}",
        "/api/time-machine/sessions/{session_id}/report",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/me",
        "/api/auth/api-keys",
        "/api/auth/api-keys/{key_id}",
        "/api/admin/users",
        "/api/admin/users/{user_id}",
        "/api/admin/audit",
    } <= paths
    assert client.get("/docs").status_code == 200
    assert client.get("/redoc").status_code == 200
