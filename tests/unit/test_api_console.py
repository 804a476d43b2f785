"""The console's API: the cookie session (flags over HTTP and HTTPS, CSRF on unsafe methods, a
bearer header needing none) and the transaction view (one result, owner-scoped, deep trees)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.unit.api_support import (
    ANALYST,
    PASSWORD,
    client,
    completed_session,
    database,
    headers_for,
    isolated_env,
    user,
)
from timemachine.models.auth import Role
from timemachine.store import ReplaySessions

__all__ = ["client", "isolated_env"]  # fixtures
NESTED = 300


def _flags(response: Any) -> dict[str, str]:
    return {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}


def _console_login(client: TestClient) -> Any:
    user(client, ANALYST)
    client.headers.pop("Authorization")
    return client.post("/api/console/login", json={"username": ANALYST, "password": PASSWORD})


def test_cookies_are_secure_over_https(client: TestClient) -> None:
    client.base_url = client.base_url.copy_with(scheme="https")
    flags = _flags(_console_login(client))
    assert set(flags) == {"tm_session", "tm_refresh", "tm_csrf"}
    assert all("; secure" in flag and "samesite=strict" in flag for flag in flags.values())


def test_the_cookie_authenticates_and_unsafe_methods_need_the_csrf_header(
    client: TestClient,
) -> None:
    assert _console_login(client).status_code == 204
    assert client.get("/api/console/session").json()["me"]["user"]["username"] == ANALYST
    first, second = (completed_session(client).id for _ in range(2))
    delete = "/api/time-machine/sessions/{}"
    csrf = client.cookies["tm_csrf"]
    for headers in ({}, {"X-CSRF-Token": "x" + csrf}):
        refused = client.delete(delete.format(first), headers=headers)
        assert refused.status_code == 403
    deleted = client.delete(delete.format(first), headers={"X-CSRF-Token": csrf})
    assert deleted.json() == {"session_id": first, "deleted": True, "cancelled": False}
    bearer = headers_for(client, ANALYST)  # a bearer header wins: no CSRF token needed
    assert client.delete(delete.format(second), headers=bearer).json()["deleted"] is True


def test_logged_out_session_answers_200_with_nobody(client: TestClient) -> None:
    client.headers.pop("Authorization")
    assert client.get("/api/console/session").json() == {"me": None, "can_refresh": False}
    refused = client.post("/api/console/refresh")
    assert (refused.status_code, refused.json()["detail"]) == (
        400,
        "no console session cookie: log in at /console/",
    )


def _nest(frame: dict[str, Any], depth: int) -> None:
    for _ in range(depth):
        child = {**frame, "calls": []}
        frame["calls"] = [child]
        frame = child


def _depth(frame: dict[str, Any]) -> int:
    depth = 0
    while frame["calls"]:
        frame, depth = frame["calls"][0], depth + 1
    return depth


def test_view_and_session_detail_serve_results_however_deep_their_tree(client: TestClient) -> None:
    session = completed_session(client)
    with database(client).session() as s:
        stored = ReplaySessions(s).results(session.id)[0].replay
    assert stored is not None
    _nest(stored["trace"], NESTED)
    with database(client).session() as s:  # results are stored while a session runs: a new one
        sessions = ReplaySessions(s)
        deep = sessions.create(owner=session.owner, kind="exploit", request={})
        sessions.start(deep.id)
        sessions.store_result(deep.id, 0, tx_hash=stored["tx_hash"], replay=stored)
        sessions.complete(deep.id)
    view = client.get(f"/api/console/sessions/{deep.id}/view").json()
    assert (view["session"]["id"], view["session"]["status"]) == (deep.id, "completed")
    assert view["tx_indexes"] == [0]
    assert _depth(view["result"]["replay"]["trace"]) == NESTED
    assert client.get(f"/api/console/sessions/{deep.id}/view?tx=1").json()["result"] is None
    detail = client.get(f"/api/time-machine/sessions/{deep.id}")  # the API's own: no 500 either
    assert detail.status_code == 200
    assert _depth(detail.json()["results"][0]["replay"]["trace"]) == NESTED
    other = headers_for(client, "bob", Role.ANALYST)
    hidden = client.get(f"/api/console/sessions/{deep.id}/view", headers=other)
    assert hidden.status_code == 404  # another user's session: as if it did not exist


def test_view_splices_the_stored_result_and_gzips_it_when_accepted(client: TestClient) -> None:
    session = completed_session(client)
    with database(client).session() as s:
        record = ReplaySessions(s).results(session.id)[0]
    path = f"/api/console/sessions/{session.id}/view?tx={record.tx_index}"
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert int(zipped.headers["content-length"]) < len(plain.content) / 3
    assert zipped.json() == plain.json()
    assert plain.json()["result"] == record.model_dump(mode="json")
