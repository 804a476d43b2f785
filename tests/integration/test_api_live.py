"""WebSockets over time: `/ws/sessions/{id}` follows a session that a worker thread moves from
pending to completed over ~2 s (real waits, so an integration test)."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import client, database, drain_websocket, isolated_env, new_session
from timemachine.api.routers import ws
from timemachine.orchestration.progress import Reporter
from timemachine.store import ReplaySessions

__all__ = ["client", "isolated_env"]  # fixtures
pytestmark = pytest.mark.integration


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
        events, code = drain_websocket(socket)
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
