"""WebSockets: `/ws/sessions/{id}` (state first, then changes until terminal) and `/ws/status`."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.api_support import client, completed_session, database, isolated_env, new_session
from timemachine.api.routers import ws
from timemachine.service.progress import Reporter
from timemachine.store import ReplaySessions

__all__ = ["client", "isolated_env"]  # fixtures


def _drain(socket: Any) -> tuple[list[dict[str, Any]], int]:
    """Every message until the server closes; and the close code."""
    events: list[dict[str, Any]] = []
    while True:
        try:
            events.append(socket.receive_json())
        except WebSocketDisconnect as closed:
            return events, closed.code


def test_unknown_session_gets_an_error_and_4404(client: TestClient) -> None:
    with client.websocket_connect("/ws/sessions/nope") as socket:
        events, code = _drain(socket)
    assert events == [{"type": "error", "error": "NotFoundError", "detail": "no session 'nope'"}]
    assert code == 4404


def test_finished_session_sends_its_state_and_closes(client: TestClient) -> None:
    record = completed_session(client)
    with client.websocket_connect(f"/ws/sessions/{record.id}") as socket:
        events, code = _drain(socket)
    assert code == 1000
    assert len(events) == 1
    assert events[0]["status"] == "completed"
    assert events[0]["progress"] == 100
    assert events[0]["session_id"] == record.id


def _work(client: TestClient, session_id: str, publish: bool) -> None:
    """What a worker in another process does: store transitions (and publish when `publish`)."""
    db = database(client)
    bus = client.app.state.timemachine.bus  # type: ignore[attr-defined]
    reporter = Reporter(db, bus, session_id)
    time.sleep(0.3)
    with db.session() as s:
        record = ReplaySessions(s).start(session_id)
    if publish:
        reporter.publish(record)
    time.sleep(0.8)
    if publish:
        reporter.progress(40, "replaying tx 1/1")
    else:
        with db.session() as s:
            ReplaySessions(s).update_progress(session_id, 40, stage="replaying tx 1/1")
    time.sleep(0.8)
    if publish:
        reporter.complete()
    else:
        with db.session() as s:
            ReplaySessions(s).update_progress(session_id, 100, stage="completed")
            ReplaySessions(s).complete(session_id)


@pytest.mark.parametrize("publish", [False, True], ids=["store-poll", "bus"])
def test_follows_a_session_to_its_end(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, publish: bool
) -> None:
    if publish:  # prove the bus path alone delivers: the poll would come too late
        monkeypatch.setattr(ws, "POLL_SECONDS", 30.0)
    record = new_session(client)
    worker = threading.Thread(target=_work, args=(client, record.id, publish))
    started = time.monotonic()
    with client.websocket_connect(f"/ws/sessions/{record.id}") as socket:
        worker.start()
        events, code = _drain(socket)
    worker.join()
    assert time.monotonic() - started < 10
    assert code == 1000
    statuses = [e["status"] for e in events]
    assert statuses[0] == "pending"
    assert statuses[-1] == "completed"
    assert "running" in statuses
    assert any(e["progress"] == 40 and e["stage"] == "replaying tx 1/1" for e in events)
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    keys = [(e["status"], e["progress"], e["stage"]) for e in events]
    assert len(keys) == len(set(keys))  # no duplicates


def test_status_channel_gets_new_sessions(client: TestClient) -> None:
    with client.websocket_connect("/ws/status") as socket:
        assert socket.receive_json() == {"type": "hello", "channel": "status"}
        started = client.post(
            "/api/time-machine/replay/exploit/start", json={"exploit_id": "reentrancy-bank"}
        ).json()
        event = socket.receive_json()
        assert event["session_id"] == started["session_id"]
        assert event["status"] == "pending"
        client.post(f"/api/time-machine/replay/{started['session_id']}/cancel")
        assert socket.receive_json()["status"] == "cancelled"
