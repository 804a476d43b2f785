"""The API's WebSocket fan-out over NATS (`EVENT_BUS_URL`, no Redis): `/ws/status` relays what
another process publishes and what the API itself publishes, through the real NATS server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from tests.integration.bus_support import NATS_HOST, NATS_PORT, NATS_URL, throwaway_streams
from tests.integration.service_support import require_service
from tests.unit.api_support import headers_for, isolated_env, make_settings
from timemachine.api import create_app
from timemachine.bus import STATUS_CHANNEL
from timemachine.bus.jetstream import JetStreamBus
from timemachine.models.auth import Role

__all__ = ["isolated_env"]  # fixture

pytestmark = pytest.mark.integration


@pytest.fixture
def worker_bus() -> Iterator[JetStreamBus]:
    """Another process's bus on a throw-away stream (deleted afterwards)."""
    require_service("NATS JetStream", NATS_HOST, NATS_PORT)
    bus = JetStreamBus(NATS_URL, throwaway_streams())
    yield bus
    asyncio.run(bus.aclose())
    asyncio.run(bus.delete_stream())


def _live(socket: WebSocketTestSession, bus: JetStreamBus) -> None:
    """Probe the status channel from `bus` until the socket relays one (its subscription is
    live); later probes are skipped by `_next`."""
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            bus.publish(STATUS_CHANNEL, {"type": "probe"})
            stop.wait(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        assert socket.receive_json() == {"type": "probe"}
    finally:
        stop.set()
        prober.join()


def _next(socket: WebSocketTestSession) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = socket.receive_json()
        if event.get("type") != "probe":
            return event


def test_ws_status_relays_events_of_other_processes_and_its_own_over_nats(
    isolated_env: Path, worker_bus: JetStreamBus
) -> None:
    streams = worker_bus.streams
    settings = make_settings(
        isolated_env,
        event_bus_url=NATS_URL,
        event_bus_stream=streams.stream,
        event_bus_prefix=streams.prefix,
    )
    with TestClient(create_app(settings)) as client:
        admin = headers_for(client, "root", Role.ADMIN)
        analyst = headers_for(client, "alice", Role.ANALYST)
        with client.websocket_connect("/ws/status", headers=admin) as socket:
            assert socket.receive_json() == {"type": "hello", "channel": "status"}
            _live(socket, worker_bus)
            worker_bus.publish(STATUS_CHANNEL, {"session_id": "s-1", "status": "completed"})
            assert _next(socket) == {"session_id": "s-1", "status": "completed"}
            started = client.post(
                "/api/time-machine/replay/exploit/start",
                json={"exploit_id": "reentrancy-bank"},
                headers=analyst,
            ).json()
            event = _next(socket)  # published by the API on its JetStream bus
            assert (event["session_id"], event["status"]) == (started["session_id"], "pending")
            client.post(f"/api/time-machine/replay/{started['session_id']}/cancel", headers=analyst)
            assert _next(socket)["status"] == "cancelled"
