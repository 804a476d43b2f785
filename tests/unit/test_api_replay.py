"""Replay endpoints: start (exploit, transactions), status, cancel; body limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import client, database, isolated_env, new_session, owner_id
from timemachine.api.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth_exceeds
from timemachine.api.metrics import queue_lengths
from timemachine.models.requests import MAX_TRANSACTIONS
from timemachine.store import ReplaySessions

__all__ = ["client", "isolated_env"]  # fixtures

START_EXPLOIT = "/api/time-machine/replay/exploit/start"
START_TXS = "/api/time-machine/replay/transactions/start"
TX = "0x" + "ab" * 32


def test_start_exploit_queues_a_pending_session(client: TestClient) -> None:
    response = client.post(
        START_EXPLOIT,
        json={"exploit_id": "reentrancy-bank", "user_id": "alice", "options": {}},
    )
    assert response.status_code == 202
    body = response.json()
    session_id = body["session_id"]
    assert body["task_id"] == session_id
    assert body["status"] == "pending"
    assert body["links"]["websocket"] == f"/ws/sessions/{session_id}"
    assert body["links"]["status"] == f"/api/time-machine/replay/{session_id}/status"
    with database(client).session() as s:
        stored = ReplaySessions(s).require(session_id)
    assert stored.owner == owner_id(client)
    assert stored.kind == "exploit"
    assert stored.request["exploit_id"] == "reentrancy-bank"
    # The task really is in the embedded broker's replay queue.
    settings = client.app.state.timemachine.settings  # type: ignore[attr-defined]
    assert queue_lengths(settings)["replay"] == 1


def test_owner_is_the_caller_whatever_the_body_says(client: TestClient) -> None:
    for body in ({"exploit_id": "reentrancy-bank"}, {"exploit_id": "reentrancy-bank",
                                                     "user_id": "mallory"}):  # fmt: skip
        session_id = client.post(START_EXPLOIT, json=body).json()["session_id"]
        with database(client).session() as s:
            stored = ReplaySessions(s).require(session_id)
        assert stored.owner == owner_id(client)
        assert stored.request["user_id"] == owner_id(client)


def test_unknown_exploit_is_404(client: TestClient) -> None:
    response = client.post(START_EXPLOIT, json={"exploit_id": "no-such-exploit"})
    assert response.status_code == 404
    assert response.json()["error"] == "NotFoundError"
    assert "no-such-exploit" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"exploit_id": ""},
        {"exploit_id": "reentrancy-bank", "surprise": 1},
        {"exploit_id": "reentrancy-bank", "options": {"mode": "warp"}},
        {"exploit_id": 5},
    ],
)
def test_malformed_exploit_bodies_are_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post(START_EXPLOIT, json=body).status_code == 422


def test_start_transactions_on_the_devnet(client: TestClient) -> None:
    response = client.post(
        START_TXS, json={"transactions": [{"hash": TX.upper().replace("0X", "0x")}]}
    )
    assert response.status_code == 202
    with database(client).session() as s:
        stored = ReplaySessions(s).require(response.json()["session_id"])
    assert stored.kind == "transactions"
    assert stored.request["transactions"][0]["hash"] == TX


@pytest.mark.parametrize(
    "body",
    [
        {"transactions": [{"hash": "0x1234"}]},
        {"transactions": [{"hash": TX, "block_number": -1}]},
        {"transactions": []},
        {"transactions": [{"hash": TX}] * (MAX_TRANSACTIONS + 1)},
        {"transactions": "0x"},
    ],
    ids=["bad-hash", "negative-block", "empty", "too-many", "not-a-list"],
)
def test_bad_transaction_requests_are_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post(START_TXS, json=body).status_code == 422


def test_chain_without_rpc_is_400(client: TestClient) -> None:
    response = client.post(START_TXS, json={"transactions": [{"hash": TX, "chain_id": 1}]})
    assert response.status_code == 400
    assert "WEB3_RPC_URL" in response.json()["detail"]


def test_mixed_chains_are_400(client: TestClient) -> None:
    body = {"transactions": [{"hash": TX}, {"hash": TX, "chain_id": 1}]}
    response = client.post(START_TXS, json=body)
    assert response.status_code == 400
    assert "same chain" in response.json()["detail"]


def test_status_of_a_session(client: TestClient) -> None:
    record = new_session(client)
    response = client.get(f"/api/time-machine/replay/{record.id}/status")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pending"
    assert body["progress"] == 0
    assert body["kind"] == "exploit"


def test_status_of_unknown_session_is_404(client: TestClient) -> None:
    response = client.get("/api/time-machine/replay/nope/status")
    assert response.status_code == 404
    assert response.json() == {
        "error": "NotFoundError",
        "detail": "no session 'nope'; list your sessions to find its id",
    }


def test_cancel_then_cancel_again_is_409(client: TestClient) -> None:
    record = new_session(client)
    first = client.post(f"/api/time-machine/replay/{record.id}/cancel")
    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    again = client.post(f"/api/time-machine/replay/{record.id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"] == "ConflictError"


def test_cancel_a_running_session_stops_its_progress(client: TestClient) -> None:
    record = new_session(client)
    with database(client).session() as s:
        ReplaySessions(s).start(record.id)
    assert client.post(f"/api/time-machine/replay/{record.id}/cancel").status_code == 200
    from timemachine.errors import ConflictError

    with pytest.raises(ConflictError), database(client).session() as s:
        ReplaySessions(s).update_progress(record.id, 50)  # what the worker sees next


def test_cancel_unknown_session_is_404(client: TestClient) -> None:
    assert client.post("/api/time-machine/replay/nope/cancel").status_code == 404


def test_deeply_nested_json_is_400_before_parsing(client: TestClient) -> None:
    depth = 100_000  # would exhaust the C stack in the stdlib parser under py_ecc's limit
    body = b"[" * depth + b"]" * depth
    response = client.post(
        START_EXPLOIT, content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidInputError"
    assert str(MAX_JSON_DEPTH) in response.json()["detail"]


def test_nesting_at_the_limit_is_parsed(client: TestClient) -> None:
    nested: object = "reentrancy-bank"
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = [nested]
    response = client.post(START_EXPLOIT, json={"exploit_id": nested})
    assert response.status_code == 422  # parsed and validated, not refused


def test_big_body_is_413(client: TestClient) -> None:
    body = b'{"exploit_id": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = client.post(
        START_EXPLOIT, content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


def test_big_streamed_body_is_413(client: TestClient) -> None:
    def chunks() -> object:
        for _ in range(20):
            yield b" " * (MAX_BODY_BYTES // 10)

    response = client.post(
        START_EXPLOIT, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_malformed_json_is_422(client: TestClient) -> None:
    response = client.post(
        START_EXPLOIT, content=b'{"exploit_id": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("text", "exceeds"),
    [
        ("[" * 33 + "]" * 33, True),
        ("[" * 32 + "]" * 32, False),
        ('{"a": "' + "[" * 100 + '"}', False),  # brackets inside a string do not nest
        ('["\\"' + "[" * 40 + '"]', False),  # an escaped quote does not end the string
        ('{"a": [' * 17 + "1" + "]}" * 17, True),
    ],
)
def test_depth_scanner(text: str, exceeds: bool) -> None:
    assert json_depth_exceeds(text.encode()) is exceeds


def test_settings_data_dir_is_the_temp_dir(client: TestClient, isolated_env: Path) -> None:
    settings = client.app.state.timemachine.settings  # type: ignore[attr-defined]
    assert settings.data_dir == isolated_env
    assert (isolated_env / "timemachine.db").is_file()
    key = isolated_env / "secret.key"  # the embedded JWT signing key
    assert key.is_file()
    assert key.stat().st_mode & 0o777 == 0o600
