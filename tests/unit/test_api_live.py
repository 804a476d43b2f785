"""WebSockets: `/ws/sessions/{id}` (state first, then changes until terminal) and `/ws/status`."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.api_support import client, completed_session, drain_websocket, isolated_env

__all__ = ["client", "isolated_env"]  # fixtures


def test_unknown_session_gets_an_error_and_4404(client: TestClient) -> None:
    with client.websocket_connect("/ws/sessions/nope") as socket:
        events, code = drain_websocket(socket)
    assert events == [{"type": "error", "error": "NotFoundError", "detail": "no session 'nope'"}]
    assert code == 4404


def test_finished_session_sends_its_state_and_closes(client: TestClient) -> None:
    record = completed_session(client)
    with client.websocket_connect(f"/ws/sessions/{record.id}") as socket:
        events, code = drain_websocket(socket)
    assert code == 1000
    assert len(events) == 1
    assert events[0]["status"] == "completed"
    assert events[0]["progress"] == 100
    assert events[0]["session_id"] == record.id


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
