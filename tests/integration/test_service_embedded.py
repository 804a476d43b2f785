"""The service in its embedded default, end to end: `timemachine serve` (uvicorn + a real Celery
prefork worker + beat on the embedded SQLite broker, temporary data directory); the bootstrap
admin's one-time password read from the server's output, an analyst created over HTTP and
logged in; a replay of the bundled `reentrancy-bank` exploit started over HTTP, followed over the
(authenticated) WebSocket to `completed`, its result and HTML report read back; then SIGTERM, and
no child, worker or anvil survives."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.integration.service_support import (
    RABBITMQ_URL,
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    alive,
    bootstrap_password,
    command_of,
    descendants,
    live_server,
    login,
    purge_queues,
    require_service,
    server_env,
)

pytestmark = pytest.mark.integration
STARTUP_TIMEOUT = 30.0
REPLAY_TIMEOUT = 60.0


def _tree(pid: int) -> dict[int, str]:
    return {child: command_of(child) for child in descendants(pid)}


@pytest.fixture(params=["embedded", "postgres-rabbitmq-redis"])
def service(
    request: pytest.FixtureRequest, anvil_binary: Path, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    env = server_env()
    if request.param == "postgres-rabbitmq-redis":
        require_service("RabbitMQ", "127.0.0.1", 5672)
        require_service("Redis", REDIS_HOST, REDIS_PORT)
        purge_queues(RABBITMQ_URL)
        env |= {
            "DATABASE_URL": request.getfixturevalue("postgres_url"),
            "CELERY_BROKER_URL": RABBITMQ_URL,
            "REDIS_URL": REDIS_URL,
        }
    env |= {
        "TIME_MACHINE_DATA_DIR": str(tmp_path),
        "ANVIL_PATH": str(anvil_binary),
        "LOG_LEVEL": "WARNING",
    }
    with live_server(tmp_path, ["--workers", "1"], env, startup_timeout=STARTUP_TIMEOUT) as server:
        yield server.process, server.base


async def _follow(url: str, token: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    protocols: Any = ["timemachine", f"bearer.{token}"]  # how a browser authenticates
    async with websockets.connect(url, subprotocols=protocols) as socket_:
        assert socket_.subprotocol == "timemachine"
        async for message in socket_:
            events.append(json.loads(message))
    return events


def _admin_and_analyst(base: str, log: Path) -> tuple[dict[str, str], str, str]:
    """Log in as the bootstrap admin; create the analyst alice over HTTP and log her in:
    (admin headers, alice's user id, alice's access token)."""
    admin = {"Authorization": f"Bearer {login(base, 'admin', bootstrap_password(log))}"}
    password = "alice's long passphrase"
    created = httpx.post(
        f"{base}/api/admin/users",
        json={"username": "alice", "password": password, "role": "analyst"},
        headers=admin,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    return admin, created.json()["id"], login(base, "alice", password)


def test_replay_over_http_and_websocket_then_clean_shutdown(
    service: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    process, base = service
    health = httpx.get(f"{base}/api/system/health", timeout=10).json()  # open to all
    assert set(health) == {"status"}  # components (paths, process counts): admins only
    start_url = f"{base}/api/time-machine/replay/exploit/start"
    anonymous = httpx.post(start_url, json={"exploit_id": "reentrancy-bank"}, timeout=10)
    assert anonymous.status_code == 401

    admin, alice_id, token = _admin_and_analyst(base, tmp_path / "serve.log")
    health = httpx.get(f"{base}/api/system/health", headers=admin, timeout=10).json()
    assert health["components"]["broker"]["status"] == "ok"
    alice = {"Authorization": f"Bearer {token}"}

    started = httpx.post(
        start_url,
        json={"exploit_id": "reentrancy-bank", "user_id": "mallory"},  # ignored: the token decides
        headers=alice,
        timeout=10,
    )
    assert started.status_code == 202
    session_id = started.json()["session_id"]
    ws_url = base.replace("http://", "ws://") + started.json()["links"]["websocket"]
    events = asyncio.run(asyncio.wait_for(_follow(ws_url, token), REPLAY_TIMEOUT))
    statuses = [event["status"] for event in events]
    assert statuses[-1] == "completed", events
    assert "running" in statuses
    assert any(0 < event["progress"] < 100 for event in events)  # progress came through

    detail = httpx.get(
        f"{base}/api/time-machine/sessions/{session_id}", headers=alice, timeout=10
    ).json()
    assert detail["session"]["status"] == "completed"
    assert detail["session"]["owner"] == alice_id
    (result,) = detail["results"]
    assert result["replay"]["fidelity"]["verdict"] == "exact"
    assert result["analysis"]["findings"][0]["vulnerability_class"] == "reentrancy"
    html = httpx.get(
        f"{base}/api/time-machine/sessions/{session_id}/report",
        params={"format": "html"},
        headers=alice,
        timeout=10,
    )
    assert html.status_code == 200
    assert html.text.startswith("<!DOCTYPE html>")
    assert "reentrancy" in html.text.lower()
    assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
    metrics = httpx.get(f"{base}/metrics", headers=admin, timeout=10).text
    assert 'timemachine_sessions{status="completed"} 1.0' in metrics

    analysis = httpx.post(
        f"{base}/api/time-machine/exploits/integer-overflow-token/analyze",
        json={"analysis_depth": "basic", "include_recommendations": False},
        headers=alice,
        timeout=10,
    )
    assert analysis.status_code == 202, analysis.text
    ws_url = base.replace("http://", "ws://") + analysis.json()["links"]["websocket"]
    events = asyncio.run(asyncio.wait_for(_follow(ws_url, token), REPLAY_TIMEOUT))
    assert events[-1]["status"] == "completed", events
    detail = httpx.get(
        f"{base}/api/time-machine/sessions/{analysis.json()['session_id']}",
        headers=alice,
        timeout=10,
    ).json()
    (result,) = detail["results"]
    top = result["analysis"]["findings"][0]
    assert (top["vulnerability_class"], "recommendation" in top) == ("integer_overflow", False)
    assert "fund_flow" not in result["analysis"]  # basic depth

    tree = _tree(process.pid)
    assert any("anvil" in command for command in tree.values()), (
        tree
    )  # the worker's devnet and fork are live
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=45)
    assert process.returncode == 0
    survivors = {pid: command for pid, command in tree.items() if alive(pid)}
    assert survivors == {}
