"""Authentication: login, refresh rotation and reuse, logout, tokens (expired, tampered, wrong
key, wrong type), API keys (shown once, stored hashed, scoped, revocable), users administration,
the bootstrap admin, and the audit log of each of these."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.unit.api_support import (
    PASSWORD,
    client,
    database,
    headers_for,
    isolated_env,
    make_settings,
    new_session,
    settings_of,
    user,
)
from timemachine.api import create_app
from timemachine.models.auth import Role
from timemachine.security import tokens

__all__ = ["client", "isolated_env"]  # fixtures

LOGIN = "/api/auth/login"


def login(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(LOGIN, json={"username": username, "password": password}, headers={})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audit_entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get(
        "/api/admin/audit", params=params, headers=headers_for(client, "auditor", Role.ADMIN)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
def anon(client: TestClient) -> Iterator[TestClient]:
    """The same app, without the default analyst header."""
    saved = client.headers.pop("Authorization")
    yield client
    client.headers["Authorization"] = saved


# -- login, refresh, logout ---------------------------------------------------------------------


def test_login_then_me_then_refresh_rotates(anon: TestClient) -> None:
    user(anon, "carol", Role.VIEWER)
    response = login(anon, "carol")
    assert response.status_code == 200
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 15 * 60
    me = anon.get("/api/auth/me", headers=bearer(pair["access_token"])).json()
    assert (me["user"]["username"], me["user"]["role"], me["via"]) == ("carol", "viewer", "login")
    assert "sessions:write" not in me["scopes"]  # a viewer cannot write, whatever the token

    rotated = anon.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != pair["refresh_token"]
    assert anon.get("/api/auth/me", headers=bearer(new["access_token"])).status_code == 200


def test_a_used_refresh_token_is_refused_and_revokes_its_login(anon: TestClient) -> None:
    user(anon, "dave", Role.ANALYST)
    first = login(anon, "dave").json()["refresh_token"]
    second = anon.post("/api/auth/refresh", json={"refresh_token": first}).json()["refresh_token"]
    replay = anon.post("/api/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    # the thief's replay also killed the legitimate successor (same family)
    assert anon.post("/api/auth/refresh", json={"refresh_token": second}).status_code == 401
    # another login is another family, unaffected
    other = login(anon, "dave").json()["refresh_token"]
    assert anon.post("/api/auth/refresh", json={"refresh_token": other}).status_code == 200
    failures = [e for e in audit_entries(anon, action="auth.refresh") if e["outcome"] == "failure"]
    assert len(failures) == 2


def test_an_access_token_is_not_a_refresh_token_and_vice_versa(anon: TestClient) -> None:
    user(anon, "erin", Role.ANALYST)
    pair = login(anon, "erin").json()
    refresh_as_access = anon.get("/api/auth/me", headers=bearer(pair["refresh_token"]))
    assert refresh_as_access.status_code == 401
    access_as_refresh = anon.post("/api/auth/refresh", json={"refresh_token": pair["access_token"]})
    assert access_as_refresh.status_code == 401


def test_logout_revokes_the_refresh_token(anon: TestClient) -> None:
    user(anon, "frank", Role.VIEWER)
    pair = login(anon, "frank").json()
    headers = bearer(pair["access_token"])
    other = headers_for(anon, "grace", Role.ANALYST)
    foreign = anon.post(
        "/api/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=other
    )
    assert foreign.status_code == 404  # not grace's token
    out = anon.post(
        "/api/auth/logout", json={"refresh_token": pair["refresh_token"]}, headers=headers
    )
    assert out.status_code == 200
    assert (
        anon.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code
        == 401
    )
    assert [e["actor"] for e in audit_entries(anon, action="auth.logout")] == ["frank"]


@pytest.mark.parametrize(
    ("username", "password"),
    [("heidi", "not the password!!"), ("nobody-at-all", PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_failed_logins_look_alike_and_are_audited(
    anon: TestClient, username: str, password: str
) -> None:
    user(anon, "heidi", Role.VIEWER)
    response = login(anon, username, password)
    assert response.status_code == 401
    assert response.json() == {
        "error": "AuthenticationError",
        "detail": "wrong username or password",
    }
    entries = audit_entries(anon, action="auth.login", user=username)
    assert [(e["outcome"], e["ip"]) for e in entries] == [("failure", "testclient")]
    assert password not in str(entries)


def test_successful_login_is_audited(anon: TestClient) -> None:
    heidi = user(anon, "heidi", Role.VIEWER)
    assert login(anon, "heidi").status_code == 200
    [entry] = audit_entries(anon, action="auth.login", user="heidi")
    assert (entry["outcome"], entry["actor_id"], entry["resource"]) == (
        "success",
        heidi.id,
        f"user:{heidi.id}",
    )


def test_disabled_user_cannot_log_in_or_use_old_tokens(anon: TestClient) -> None:
    ivan = user(anon, "ivan", Role.ANALYST)
    pair = login(anon, "ivan").json()
    admin = headers_for(anon, "root", Role.ADMIN)
    assert (
        anon.patch(
            f"/api/admin/users/{ivan.id}", json={"disabled": True}, headers=admin
        ).status_code
        == 200
    )
    assert anon.get("/api/auth/me", headers=bearer(pair["access_token"])).status_code == 401
    assert (
        anon.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code
        == 401
    )
    assert login(anon, "ivan").status_code == 401
    assert [e["outcome"] for e in audit_entries(anon, action="user.disable")] == ["success"]


# -- tokens -------------------------------------------------------------------------------------


def _claims(client: TestClient, user_id: str, **changes: Any) -> dict[str, Any]:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": "timemachine",
        "sub": user_id,
        "typ": "access",
        "jti": "x",
        "iat": now,
        "exp": now + 60,
    }
    return claims | changes


def test_expired_tampered_and_foreign_tokens_are_401(anon: TestClient) -> None:
    judy = user(anon, "judy", Role.ANALYST)
    key = tokens.signing_key(settings_of(anon))
    good = jwt.encode(_claims(anon, judy.id), key, algorithm="HS256")
    assert anon.get("/api/auth/me", headers=bearer(good)).status_code == 200

    past = int(dt.datetime.now(dt.UTC).timestamp()) - 3600
    expired = jwt.encode(_claims(anon, judy.id, iat=past, exp=past + 60), key, algorithm="HS256")
    response = anon.get("/api/auth/me", headers=bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]

    header, _payload, signature = good.split(".")
    admin = user(anon, "root", Role.ADMIN)
    forged = json.dumps(_claims(anon, admin.id)).encode()
    forged_payload = base64.urlsafe_b64encode(forged).decode().rstrip("=")
    assert (
        anon.get(
            "/api/auth/me", headers=bearer(f"{header}.{forged_payload}.{signature}")
        ).status_code
        == 401
    )

    wrong_key = jwt.encode(
        _claims(anon, judy.id), "another key of 32+ characters!!!!", algorithm="HS256"
    )
    assert anon.get("/api/auth/me", headers=bearer(wrong_key)).status_code == 401
    unsigned = jwt.encode(_claims(anon, judy.id), "", algorithm="none")
    assert anon.get("/api/auth/me", headers=bearer(unsigned)).status_code == 401
    assert (
        anon.get("/api/auth/me", headers={"Authorization": "Basic am9objpzZWNyZXQ="}).status_code
        == 401
    )


def test_the_secret_key_from_settings_signs_tokens(isolated_env: Path) -> None:
    secret = "k" * 40
    settings = make_settings(isolated_env, secret_key=secret)
    with TestClient(create_app(settings)) as test_client:
        kim = user(test_client, "kim", Role.VIEWER)
        token = jwt.encode(_claims(test_client, kim.id), secret, algorithm="HS256")
        assert test_client.get("/api/auth/me", headers=bearer(token)).status_code == 200
    assert not (isolated_env / "secret.key").exists()


# -- API keys -----------------------------------------------------------------------------------


def test_api_key_lifecycle(client: TestClient) -> None:
    created = client.post(
        "/api/auth/api-keys", json={"name": "ci", "scopes": ["sessions:read", "exploits:read"]}
    )
    assert created.status_code == 201
    body = created.json()
    key = body["key"]
    assert key.startswith("tm_")
    assert len(key) == 46
    assert body["prefix"] == key[:10]
    # stored as its SHA-256 only
    with database(client).engine.connect() as connection:
        dump = "\n".join(str(row) for row in connection.execute(text("SELECT * FROM api_keys")))
    assert key not in dump
    assert hashlib.sha256(key.encode()).hexdigest() in dump
    # listed without the key
    listed = client.get("/api/auth/api-keys").json()
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0]
    # it works, within its scopes
    as_key = bearer(key)
    me = client.get("/api/auth/me", headers=as_key).json()
    assert (me["via"], sorted(me["scopes"])) == ("api_key", ["exploits:read", "sessions:read"])
    assert client.get("/api/time-machine/sessions", headers=as_key).status_code == 200
    start = client.post(
        "/api/time-machine/replay/exploit/start",
        json={"exploit_id": "reentrancy-bank"},
        headers=as_key,
    )
    assert start.status_code == 403
    assert "sessions:write" in start.json()["detail"]
    # an API key cannot mint keys
    assert (
        client.post(
            "/api/auth/api-keys", json={"name": "x", "scopes": ["sessions:read"]}, headers=as_key
        ).status_code
        == 403
    )
    # revoke: refused at once
    assert client.delete(f"/api/auth/api-keys/{body['id']}").json()["revoked_at"] is not None
    assert client.get("/api/auth/me", headers=as_key).status_code == 401
    actions = [e["action"] for e in audit_entries(client, user="alice")]
    assert {"api_key.create", "api_key.revoke"} <= set(actions)


def test_api_key_scopes_stay_within_the_role(client: TestClient) -> None:
    viewer = headers_for(client, "victor", Role.VIEWER)
    response = client.post(
        "/api/auth/api-keys", json={"name": "x", "scopes": ["sessions:write"]}, headers=viewer
    )
    assert response.status_code == 400
    assert "viewer cannot hold scopes sessions:write" in response.json()["detail"]
    analyst = client.post("/api/auth/api-keys", json={"name": "x", "scopes": ["admin"]})
    assert analyst.status_code == 400
    assert (
        client.post("/api/auth/api-keys", json={"name": "x", "scopes": ["root"]}).status_code == 422
    )


def test_a_demoted_users_key_loses_what_the_role_lost(client: TestClient) -> None:
    key = client.post(
        "/api/auth/api-keys", json={"name": "w", "scopes": ["sessions:write"]}
    ).json()["key"]
    start = {"exploit_id": "reentrancy-bank"}
    url = "/api/time-machine/replay/exploit/start"
    assert client.post(url, json=start, headers=bearer(key)).status_code == 202
    alice = user(client, "alice")
    admin = headers_for(client, "root", Role.ADMIN)
    client.patch(f"/api/admin/users/{alice.id}", json={"role": "viewer"}, headers=admin)
    assert client.post(url, json=start, headers=bearer(key)).status_code == 403
    [entry] = audit_entries(client, action="user.role")
    assert entry["detail"] == {"from": "analyst", "to": "viewer"}
    assert entry["actor"] == "root"


# -- users administration -----------------------------------------------------------------------


def test_admin_creates_lists_and_changes_users(anon: TestClient) -> None:
    admin = headers_for(anon, "root", Role.ADMIN)
    created = anon.post(
        "/api/admin/users",
        json={"username": "lena", "password": PASSWORD, "role": "analyst"},
        headers=admin,
    )
    assert created.status_code == 201
    assert "password" not in created.text
    assert PASSWORD not in created.text
    assert login(anon, "lena").status_code == 200
    again = anon.post(
        "/api/admin/users", json={"username": "lena", "password": PASSWORD}, headers=admin
    )
    assert again.status_code == 409
    short = anon.post(
        "/api/admin/users", json={"username": "mo", "password": "short"}, headers=admin
    )
    assert short.status_code == 422
    names = {u["username"] for u in anon.get("/api/admin/users", headers=admin).json()["items"]}
    assert {"admin", "root", "lena"} <= names  # admin: the bootstrap user
    root = user(anon, "root", Role.ADMIN)
    selfie = anon.patch(f"/api/admin/users/{root.id}", json={"disabled": True}, headers=admin)
    assert selfie.status_code == 409
    lena_id = created.json()["id"]
    assert (
        anon.patch(f"/api/admin/users/{lena_id}", json={"role": "admin"}, headers=admin).json()[
            "role"
        ]
        == "admin"
    )
    [entry] = audit_entries(anon, action="user.create", user="root")
    assert entry["resource"] == f"user:{lena_id}"
    assert PASSWORD not in str(audit_entries(anon))


def test_audit_log_is_newest_first_and_paged(client: TestClient) -> None:
    for _ in range(3):
        client.post(
            "/api/time-machine/replay/exploit/start", json={"exploit_id": "reentrancy-bank"}
        )
    entries = audit_entries(client, action="session.start")
    assert len(entries) == 3
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    assert entries[0]["id"] > entries[-1]["id"]
    page = audit_entries(client, action="session.start", limit=1, offset=1)
    assert [e["id"] for e in page] == [entries[1]["id"]]
    assert {e["actor"] for e in entries} == {"alice"}
    assert all(e["resource"].startswith("session:") for e in entries)


def test_session_actions_and_cleanup_are_audited(client: TestClient) -> None:
    started = client.post(
        "/api/time-machine/replay/exploit/start", json={"exploit_id": "reentrancy-bank"}
    ).json()
    client.post(f"/api/time-machine/replay/{started['session_id']}/cancel")
    client.delete(f"/api/time-machine/sessions/{started['session_id']}")
    admin = headers_for(client, "root", Role.ADMIN)
    pending = new_session(client)
    client.post(f"/api/cleanup/session/{pending.id}", headers=admin)
    client.post("/api/cleanup/old-sessions", headers=admin)
    client.post("/api/cleanup/temp-files", headers=admin)
    resource = f"session:{started['session_id']}"
    mine = {(e["action"], e["resource"]) for e in audit_entries(client, user="alice")}
    assert {
        ("session.start", resource),
        ("session.cancel", resource),
        ("session.delete", resource),
    } <= mine
    cleanups = audit_entries(client, action="cleanup", user="root")
    assert [e["detail"]["what"] for e in cleanups] == [
        "cleanup_temp_files",
        "old-sessions",
        "session",
    ]


# -- bootstrap ----------------------------------------------------------------------------------


def test_first_start_creates_an_admin_and_says_how_to_log_in_once(
    isolated_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(make_settings(isolated_env))) as first:
        pass
    printed = capfd.readouterr().err
    assert "created the first user, 'admin'" in printed
    password = printed.split("password: ")[1].split()[0]
    with TestClient(create_app(make_settings(isolated_env))) as second:
        assert "first user" not in capfd.readouterr().err  # only once
        pair = login(second, "admin", password)
        assert pair.status_code == 200
        me = second.get("/api/auth/me", headers=bearer(pair.json()["access_token"])).json()
        assert me["user"]["role"] == "admin"
    assert first is not second
    log_dir = isolated_env
    assert password not in "".join(p.read_text(errors="ignore") for p in log_dir.glob("*.log"))


def test_metrics_need_the_scrape_token_or_an_admin(isolated_env: Path) -> None:
    scrape = "s" * 40
    with TestClient(create_app(make_settings(isolated_env, metrics_token=scrape))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers=bearer("wrong" * 8)).status_code == 401
        assert (
            client.get("/metrics", headers=headers_for(client, "ana", Role.ANALYST)).status_code
            == 403
        )
        scraped = client.get("/metrics", headers=bearer(scrape))
        assert scraped.status_code == 200
        assert "timemachine_sessions" in scraped.text
        admin = headers_for(client, "root", Role.ADMIN)
        assert client.get("/metrics", headers=admin).status_code == 200
        key = client.post(
            "/api/auth/api-keys", json={"name": "prom", "scopes": ["metrics:read"]}, headers=admin
        ).json()["key"]
        assert client.get("/metrics", headers=bearer(key)).status_code == 200
        assert client.get("/api/admin/users", headers=bearer(key)).status_code == 403
