"""Who may call what: a role-by-endpoint matrix over EVERY route of the app (a new route without a
policy here fails `test_every_route_has_a_policy`), and cross-user access (IDOR) on every
resource with an id: another user's session, task or API key is answered 404, like a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.api_support import (
    ENV_NAMES,
    completed_session,
    database,
    headers_for,
    make_settings,
    new_session,
    owner_id,
    user,
)
from timemachine.api import create_app
from timemachine.models.auth import Role, Scope
from timemachine.security.accounts import SCOPE_ROLE, create_api_key
from timemachine.security.principal import Principal

V, A, AD = Role.VIEWER, Role.ANALYST, Role.ADMIN
S = Scope
Policy = tuple[Role, Scope | None, bool]  # least role, scope an API key needs, login only

PUBLIC = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/docs/assets/{name}"),
    ("GET", "/api/system/health"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
    ("GET", "/"),  # redirects to the console
    ("GET", "/console/{path:path}"),  # the console's built files
    ("POST", "/api/console/login"),
    ("POST", "/api/console/refresh"),  # the refresh cookie is the credential
    ("GET", "/api/console/session"),  # who is logged in, or nobody
}
POLICY: dict[tuple[str, str], Policy] = {
    ("POST", "/api/auth/logout"): (V, None, False),
    ("GET", "/api/auth/me"): (V, None, False),
    ("POST", "/api/auth/api-keys"): (V, S.SESSIONS_READ, True),
    ("GET", "/api/auth/api-keys"): (V, S.SESSIONS_READ, True),
    ("DELETE", "/api/auth/api-keys/{key_id}"): (V, S.SESSIONS_READ, True),
    ("POST", "/api/admin/users"): (AD, S.ADMIN, False),
    ("GET", "/api/admin/users"): (AD, S.ADMIN, False),
    ("PATCH", "/api/admin/users/{user_id}"): (AD, S.ADMIN, False),
    ("GET", "/api/admin/audit"): (AD, S.ADMIN, False),
    ("POST", "/api/time-machine/replay/exploit/start"): (A, S.SESSIONS_WRITE, False),
    ("POST", "/api/time-machine/replay/transactions/start"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/time-machine/replay/{session_id}/status"): (V, S.SESSIONS_READ, False),
    ("POST", "/api/time-machine/replay/{session_id}/cancel"): (A, S.SESSIONS_WRITE, False),
    ("POST", "/api/time-machine/whatif/start"): (A, S.SESSIONS_WRITE, False),
    ("POST", "/api/time-machine/verify-fix/start"): (A, S.SESSIONS_WRITE, False),
    ("POST", "/api/time-machine/imports"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/time-machine/imports"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/time-machine/imports/{import_id}"): (V, S.SESSIONS_READ, False),
    ("POST", "/api/time-machine/imports/{import_id}/replay"): (A, S.SESSIONS_WRITE, False),
    ("POST", "/api/time-machine/mev/inspect"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/time-machine/mev/findings"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/time-machine/mev/blocks/{block_number}"): (V, S.SESSIONS_READ, False),
    ("POST", "/api/time-machine/mev/jobs"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/time-machine/mev/jobs/{job_id}"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/v1/monitor/transactions"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/v1/monitor/transactions/{chain}/{tx_hash}"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/v1/monitor/stats"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/v1/archive"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/v1/archive/{dataset}"): (V, S.SESSIONS_READ, False),
    ("POST", "/api/v1/archive/query"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/v1/operations/chains"): (AD, S.ADMIN, False),
    ("GET", "/api/v1/operations/chains/{name}/status"): (AD, S.ADMIN, False),
    ("GET", "/api/v1/operations/queues"): (AD, S.ADMIN, False),
    ("GET", "/api/time-machine/alerts"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/time-machine/alerts/dead-letters"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/time-machine/alerts/{alert_id}"): (V, S.SESSIONS_READ, False),
    ("POST", "/api/time-machine/alerts/{alert_id}/ack"): (A, S.SESSIONS_WRITE, False),
    ("POST", "/api/time-machine/rules/validate"): (A, S.SESSIONS_WRITE, False),
    ("POST", "/api/time-machine/rules/dry-run"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/time-machine/rules"): (V, S.SESSIONS_READ, False),
    ("POST", "/api/time-machine/rules"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/time-machine/rules/{rule_id}"): (V, S.SESSIONS_READ, False),
    ("PUT", "/api/time-machine/rules/{rule_id}"): (A, S.SESSIONS_WRITE, False),
    ("DELETE", "/api/time-machine/rules/{rule_id}"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/time-machine/rules/{rule_id}/versions"): (V, S.SESSIONS_READ, False),
    ("POST", "/api/time-machine/rules/{rule_id}/test"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/time-machine/rules/secrets"): (V, S.CREDENTIALS_READ, False),
    ("PUT", "/api/time-machine/rules/secrets/{name}"): (A, S.CREDENTIALS_WRITE, False),
    ("DELETE", "/api/time-machine/rules/secrets/{name}"): (A, S.CREDENTIALS_WRITE, False),
    ("GET", "/api/time-machine/exploits"): (V, S.EXPLOITS_READ, False),
    ("GET", "/api/time-machine/exploits/{exploit_id}"): (V, S.EXPLOITS_READ, False),
    ("POST", "/api/time-machine/exploits/{exploit_id}/analyze"): (A, S.SESSIONS_WRITE, False),
    ("GET", "/api/time-machine/sessions"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/time-machine/sessions/{session_id}"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/time-machine/sessions/{session_id}/report"): (V, S.SESSIONS_READ, False),
    ("DELETE", "/api/time-machine/sessions/{session_id}"): (A, S.SESSIONS_WRITE, False),
    ("POST", "/api/credentials"): (A, S.CREDENTIALS_WRITE, False),
    ("GET", "/api/credentials"): (V, S.CREDENTIALS_READ, False),
    ("DELETE", "/api/credentials/{credential_id}"): (A, S.CREDENTIALS_WRITE, False),
    ("GET", "/api/tasks/{task_id}/status"): (V, S.SESSIONS_READ, False),
    ("GET", "/api/tasks/active"): (AD, S.ADMIN, False),
    ("GET", "/api/celery/workers"): (AD, S.ADMIN, False),
    ("POST", "/api/cleanup/session/{session_id}"): (AD, S.ADMIN, False),
    ("POST", "/api/cleanup/old-sessions"): (AD, S.ADMIN, False),
    ("POST", "/api/cleanup/expired-forks"): (AD, S.ADMIN, False),
    ("POST", "/api/cleanup/temp-files"): (AD, S.ADMIN, False),
    ("GET", "/metrics"): (AD, S.METRICS_READ, False),
    ("POST", "/api/console/logout"): (V, None, False),
    ("GET", "/api/console/sessions/{session_id}/view"): (V, S.SESSIONS_READ, False),
}
WEBSOCKETS: dict[str, Policy] = {
    "/ws/sessions/{session_id}": (V, S.SESSIONS_READ, False),
    "/ws/status": (V, S.SESSIONS_READ, False),
    "/ws/mev": (V, S.SESSIONS_READ, False),
    "/ws/transactions": (V, S.SESSIONS_READ, False),
    "/ws/alerts": (V, S.SESSIONS_READ, False),
}
MISSING = "00000000-0000-0000-0000-000000000000"
DENIED = {401, 403}


def _walk(routes: Iterable[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI's included router
            yield from _walk(route.effective_candidates())
        else:
            yield route


def app_routes(client: TestClient) -> tuple[set[tuple[str, str]], set[str]]:
    """(method, path) of every HTTP route, and the path of every WebSocket route."""
    http: set[tuple[str, str]] = set()
    sockets: set[str] = set()
    for route in _walk(client.app.routes):  # type: ignore[attr-defined]
        path = getattr(route, "path", None) or route.starlette_route.path
        methods = set(route.methods or ()) - {"HEAD"}
        if methods:
            http |= {(method, path) for method in methods}
        else:
            sockets.add(path)
    return http, sockets


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("access")
    with pytest.MonkeyPatch.context() as patch:
        for name in ENV_NAMES:
            patch.delenv(name, raising=False)
        settings = make_settings(data_dir, rate_limit_burst=100_000, ip_rate_limit_burst=100_000)
        with TestClient(create_app(settings)) as test_client:
            yield test_client


_KEYS: dict[tuple[Role, frozenset[Scope]], str] = {}


def key_headers(client: TestClient, role: Role, scopes: Iterable[Scope]) -> dict[str, str]:
    """An API key of the `role` user `key-<role>` holding `scopes`."""
    wanted = frozenset(scopes)
    if (role, wanted) not in _KEYS:
        owner = user(client, f"key-{role}", role)
        principal = Principal(user_id=owner.id, username=owner.username, role=role)
        _, key = create_api_key(database(client), principal, name="matrix", scopes=wanted)
        _KEYS[(role, wanted)] = key
    return {"Authorization": f"Bearer {_KEYS[(role, wanted)]}"}


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None) -> int:
    url = path
    for name in ("session_id", "key_id", "user_id", "credential_id", "task_id", "import_id"):
        url = url.replace("{" + name + "}", MISSING)
    url = url.replace("{exploit_id}", "reentrancy-bank")
    body: dict[str, Any] | None = {} if method in {"POST", "PATCH"} else None
    response = client.request(method, url, headers=headers or {}, json=body)
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "AuthenticationError"
    status: int = response.status_code
    return status


def test_every_route_has_a_policy(client: TestClient) -> None:
    http, sockets = app_routes(client)
    assert http == PUBLIC | set(POLICY), "a route was added or removed: give it a policy here"
    assert sockets == set(WEBSOCKETS)


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC))
def test_public_routes_need_no_credentials(client: TestClient, method: str, path: str) -> None:
    assert call(client, method, path, None) not in DENIED


@pytest.mark.parametrize(("method", "path"), sorted(POLICY))
def test_role_and_scope_matrix(client: TestClient, method: str, path: str) -> None:
    least, scope, login_only = POLICY[(method, path)]
    assert call(client, method, path, None) == 401
    assert call(client, method, path, {"Authorization": "Bearer not-a-token"}) == 401
    for role in Role:
        status = call(client, method, path, headers_for(client, f"jwt-{role}", role))
        if role.allows(least):
            assert status not in DENIED, (role, status)
        else:
            assert status == 403, (role, status)
    # API keys: a key of a user with the least role...
    needed = scope or S.SESSIONS_READ
    holding = call(client, method, path, key_headers(client, least, {needed}))
    if login_only:
        assert holding == 403  # ...never manages API keys
    else:
        assert holding not in DENIED  # ...works with the scope,
    if scope is not None:  # ...and is refused without it (holding every other scope it may)
        others = {s for s in Scope if least.allows(SCOPE_ROLE[s]) and s not in {scope, S.ADMIN}}
        if others:
            assert call(client, method, path, key_headers(client, least, others)) == 403
    # a key of a lower role cannot do what its owner cannot, whatever it holds
    if least is not V:
        below = Role.VIEWER if least is A else Role.ANALYST
        allowed = {s for s in Scope if below.allows(SCOPE_ROLE[s])}
        assert call(client, method, path, key_headers(client, below, allowed)) == 403


def _ws_close(client: TestClient, path: str, **kwargs: Any) -> tuple[list[Any], int]:
    events: list[Any] = []
    with client.websocket_connect(path, **kwargs) as socket:
        while True:
            try:
                events.append(socket.receive_json())
            except WebSocketDisconnect as closed:
                return events, closed.code
            if (
                path.endswith(("/status", "/mev", "/transactions", "/alerts"))
                and events
                and events[-1].get("type") == "hello"
            ):
                return events, 0  # accepted and streaming


@pytest.mark.parametrize("path", sorted(WEBSOCKETS))
def test_websockets_close_4401_without_valid_credentials(client: TestClient, path: str) -> None:
    url = path.replace("{session_id}", MISSING)
    events, code = _ws_close(client, url)
    assert code == 4401
    assert events[0]["error"] == "AuthenticationError"
    _, code = _ws_close(client, url, subprotocols=["timemachine", "bearer.tampered"])
    assert code == 4401
    _, code = _ws_close(client, url, headers=key_headers(client, V, {S.EXPLOITS_READ}))
    assert code == 4403  # a key without sessions:read


@pytest.mark.parametrize("path", sorted(WEBSOCKETS))
def test_websockets_take_the_token_as_a_subprotocol(client: TestClient, path: str) -> None:
    """Browsers cannot set headers on a WebSocket: `bearer.<token>` rides in the subprotocols,
    the server selects `timemachine`."""
    session = completed_session(client, owner=owner_id(client, "ws-viewer"))
    token = headers_for(client, "ws-viewer", V)["Authorization"].split()[1]
    url = path.replace("{session_id}", session.id)
    with client.websocket_connect(url, subprotocols=["timemachine", f"bearer.{token}"]) as ws:
        assert ws.accepted_subprotocol == "timemachine"
        first = ws.receive_json()
    assert first["type"] in {"session", "hello"}
    _, code = _ws_close(client, url, headers=key_headers(client, V, {S.SESSIONS_READ}))
    assert code != 4401


# -- cross-user access (IDOR) -------------------------------------------------------------------


SESSION_ROUTES = [
    ("GET", "/api/time-machine/replay/{id}/status"),
    ("POST", "/api/time-machine/replay/{id}/cancel"),
    ("GET", "/api/time-machine/sessions/{id}"),
    ("GET", "/api/time-machine/sessions/{id}/report"),
    ("DELETE", "/api/time-machine/sessions/{id}"),
    ("GET", "/api/tasks/{id}/status"),
]


@pytest.mark.parametrize(("method", "path"), SESSION_ROUTES)
@pytest.mark.parametrize("finished", [False, True], ids=["pending", "completed"])
def test_another_users_session_is_404(
    client: TestClient, method: str, path: str, finished: bool
) -> None:
    victim = owner_id(client, "victim")
    session = (
        completed_session(client, owner=victim) if finished else new_session(client, owner=victim)
    )
    url = path.replace("{id}", session.id)
    mallory = headers_for(client, "mallory", A)
    mallory_key = key_headers(client, A, {S.SESSIONS_READ, S.SESSIONS_WRITE})
    for headers in (mallory, mallory_key):
        response = client.request(method, url, headers=headers)
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "NotFoundError"
    # the session is untouched, and its owner (and an admin) still see it
    owner = headers_for(client, "victim", A)
    admin = headers_for(client, "root", AD)
    for headers in (owner, admin):
        status = client.get(f"/api/time-machine/replay/{session.id}/status", headers=headers)
        assert status.status_code == 200
        assert status.json()["status"] == ("completed" if finished else "pending")


def test_a_missing_and_a_foreign_session_answer_alike(client: TestClient) -> None:
    foreign = new_session(client, owner=owner_id(client, "victim"))
    mallory = headers_for(client, "mallory", A)
    missing = client.get(f"/api/time-machine/sessions/{MISSING}", headers=mallory)
    theirs = client.get(f"/api/time-machine/sessions/{foreign.id}", headers=mallory)
    assert missing.status_code == theirs.status_code == 404
    assert missing.json()["error"] == theirs.json()["error"] == "NotFoundError"
    assert theirs.json()["detail"] == missing.json()["detail"].replace(MISSING, foreign.id)


def test_another_users_session_websocket_is_4404(client: TestClient) -> None:
    foreign = completed_session(client, owner=owner_id(client, "victim"))
    events, code = _ws_close(
        client, f"/ws/sessions/{foreign.id}", headers=headers_for(client, "mallory", A)
    )
    assert code == 4404
    assert events == [
        {"type": "error", "error": "NotFoundError", "detail": f"no session {foreign.id!r}"}
    ]
    _, code = _ws_close(
        client, f"/ws/sessions/{foreign.id}", headers=headers_for(client, "root", AD)
    )
    assert code == 1000


def test_status_websocket_shows_only_my_sessions(client: TestClient) -> None:
    mine = headers_for(client, "watcher", A)
    with client.websocket_connect("/ws/status", headers=mine) as socket:
        assert socket.receive_json()["type"] == "hello"
        client.post(
            "/api/time-machine/replay/exploit/start",
            json={"exploit_id": "reentrancy-bank"},
            headers=headers_for(client, "other-starter", A),
        )
        started = client.post(
            "/api/time-machine/replay/exploit/start",
            json={"exploit_id": "reentrancy-bank"},
            headers=mine,
        ).json()
        event = socket.receive_json()
        assert event["session_id"] == started["session_id"]  # the other user's was skipped


def test_another_users_api_key_cannot_be_revoked(client: TestClient) -> None:
    victim = headers_for(client, "key-victim", A)
    created = client.post(
        "/api/auth/api-keys", json={"name": "ci", "scopes": ["sessions:read"]}, headers=victim
    ).json()
    mallory = headers_for(client, "mallory", A)
    response = client.delete(f"/api/auth/api-keys/{created['id']}", headers=mallory)
    assert response.status_code == 404
    assert created["id"] not in {
        k["id"] for k in client.get("/api/auth/api-keys", headers=mallory).json()
    }
    key = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/auth/me", headers=key).status_code == 200  # still alive
    admin = headers_for(client, "root", AD)
    assert client.delete(f"/api/auth/api-keys/{created['id']}", headers=admin).status_code == 200
    assert client.get("/api/auth/me", headers=key).status_code == 401
