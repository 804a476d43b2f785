"""`/api/credentials`: store, list (hints only), delete, owner scoping; and no stored secret ever
shows up in clear: not in responses, logs, session errors or the database rows."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import (
    client,
    database,
    headers_for,
    isolated_env,
    make_settings,
    owner_id,
    settings_of,
)
from timemachine.bus import LocalBus
from timemachine.logs import get_logger
from timemachine.orchestration.progress import Reporter
from timemachine.orchestration.runtime import EngineRuntime
from timemachine.orchestration.sessions import run_session
from timemachine.security.outbound import UPSTREAM_FAILED
from timemachine.store import ReplaySessions

__all__ = ["client", "isolated_env"]  # fixtures

CREDENTIALS = "/api/credentials"
SECRET = "Zk9SECRETpathKey4242abcdEFGH"
QUERY_SECRET = "QsecretQueryKey777zzzz"
PASSWORD = "PwSecretUserinfo31337"
LEAKY_URL = f"http://user:{PASSWORD}@127.0.0.1:9/v2/{SECRET}?apikey={QUERY_SECRET}"
SECRETS = (SECRET, QUERY_SECRET, PASSWORD)


def _store(client: TestClient, chain_id: int, url: str, **extra: str) -> dict[str, str]:
    """Store as the client's own user (alice, an analyst)."""
    response = client.post(CREDENTIALS, json={"chain_id": chain_id, "url": url, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def test_store_list_replace_delete(client: TestClient) -> None:
    url = f"https://eth-mainnet.g.alchemy.com/v2/{SECRET}"
    stored = _store(client, 1, url)
    assert stored["hint"] == "https://***.alchemy.com/…"
    assert set(stored) == {
        "id", "owner", "chain_id", "label", "hint", "key_id", "created_at", "updated_at"
    }  # fmt: skip
    again = _store(client, 1, url + "2")
    assert again["id"] == stored["id"]
    _store(client, 137, "https://polygon.example/rpc", label="backup")
    listed = client.get(CREDENTIALS)
    assert listed.status_code == 200
    assert [(c["chain_id"], c["label"]) for c in listed.json()] == [(1, "default"), (137, "backup")]
    only = client.get(CREDENTIALS, params={"chain_id": 137}).json()
    assert [c["chain_id"] for c in only] == [137]
    assert client.get(CREDENTIALS, headers=headers_for(client, "bob")).json() == []
    deleted = client.delete(f"{CREDENTIALS}/{stored['id']}")
    assert deleted.json() == {"id": stored["id"], "deleted": True}
    again_deleted = client.delete(f"{CREDENTIALS}/{stored['id']}")
    assert again_deleted.status_code == 404


def test_another_owners_credential_is_not_found(client: TestClient) -> None:
    stored = _store(client, 1, f"https://x.example/v2/{SECRET}")
    response = client.delete(
        f"{CREDENTIALS}/{stored['id']}", headers=headers_for(client, "mallory")
    )
    assert response.status_code == 404
    assert response.json()["error"] == "NotFoundError"
    assert len(client.get(CREDENTIALS).json()) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"url": f"https://x.example/v2/{SECRET}"},  # chain_id missing: 422 echoes the body
        {"chain_id": 0, "url": f"https://x.example/v2/{SECRET}"},
        {"chain_id": 1, "url": f"ftp://x.example/v2/{SECRET}"},
        {"chain_id": 1, "url": f"https://x.example/v2/{SECRET}" + "a" * 3000},
        {"chain_id": 1, "url": f"https://x.example/v2/{SECRET}", "label": "bad label!"},
        {"chain_id": 1, "url": f"https://x.example/v2/{SECRET}", "extra": 1},
    ],
)
def test_rejected_bodies_never_echo_the_url(client: TestClient, body: dict[str, object]) -> None:
    response = client.post(CREDENTIALS, json=body)
    assert response.status_code in (400, 422), response.text
    assert SECRET not in response.text


def test_audit_entries_name_the_credential_not_the_secret(client: TestClient) -> None:
    stored = _store(client, 1, f"https://x.example/v2/{SECRET}")
    client.get(CREDENTIALS)
    client.delete(f"{CREDENTIALS}/{stored['id']}")
    with database(client).engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT * FROM audit_log").fetchall()
    text = "\n".join(map(str, rows))
    for action in ("credential.store", "credential.read", "credential.delete"):
        assert action in text
    assert f"credential:{stored['id']}" in text
    assert SECRET not in text


def test_a_stored_secret_never_appears_in_clear(
    client: TestClient,
    isolated_env: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Store a credential whose URL holds secrets in userinfo, path and query, make a worker
    replay with it against an unreachable provider (it fails and logs), and grep everything."""
    caplog.set_level(logging.DEBUG)
    settings_of(client).outbound_allow_hosts = "127.0.0.1"  # the provider is on loopback
    responses = []
    stored = _store(client, 1, LEAKY_URL)
    responses.append(str(stored))
    responses.append(client.get(CREDENTIALS).text)
    db = database(client)
    with db.session() as s:  # as the replay endpoint stores it (its auth is tested elsewhere)
        session_id = (
            ReplaySessions(s)
            .create(
                owner=owner_id(client),
                kind="transactions",
                request={"transactions": [{"hash": "0x" + "ab" * 32, "chain_id": 1}]},
            )
            .id
        )
    runtime = EngineRuntime(
        make_settings(
            isolated_env, rpc_retries=0, rpc_timeout=3.0, outbound_allow_hosts="127.0.0.1"
        )
    )
    try:
        run_session(db, runtime, Reporter(db, LocalBus(), session_id))
    finally:
        runtime.close()

    with db.session() as s:
        record = ReplaySessions(s).require(session_id)
    assert record.status == "failed"
    assert record.error
    assert record.error == UPSTREAM_FAILED  # one message, naming no host (issue 13)
    for path in (
        f"/api/time-machine/replay/{session_id}/status",
        f"/api/time-machine/sessions/{session_id}",
        "/api/time-machine/sessions",
        "/api/system/health",
    ):
        responses.append(client.get(path).text)
    responses.append(client.delete(f"{CREDENTIALS}/nope").text)

    # What a failing provider produces in logs, through both logging paths: the project's
    # structlog logger and a library's stdlib logger (httpx logs each request's full URL).
    get_logger("test").warning("provider failed", upstream=LEAKY_URL, error=record.error)
    logging.getLogger("httpx").info('HTTP Request: POST %s "HTTP/1.1 502"', LEAKY_URL)
    captured = capfd.readouterr()
    logs = "\n".join(
        [caplog.text, captured.out, captured.err, *(r.getMessage() for r in caplog.records)]
    )
    assert "127.0.0.1:9" in logs  # the failed attempt was logged (so the grep can fail)
    with db.engine.connect() as connection:
        dump = "\n".join(connection.connection.iterdump())
    for secret in SECRETS:
        for place, text in (("responses", "\n".join(responses)), ("logs", logs), ("db", dump)):
            assert secret not in text, f"{secret} leaked into {place}"


def test_a_stored_credential_lets_its_owner_replay_on_that_chain(client: TestClient) -> None:
    body = {"transactions": [{"hash": "0x" + "ab" * 32, "chain_id": 1}]}
    refused = client.post("/api/time-machine/replay/transactions/start", json=body)
    assert refused.status_code == 400
    assert "no RPC configured for chain 1" in refused.json()["detail"]
    _store(client, 1, f"https://x.example/v2/{SECRET}")
    started = client.post("/api/time-machine/replay/transactions/start", json=body)
    assert started.status_code == 202, started.text
    others = client.post(
        "/api/time-machine/replay/transactions/start",
        json=body,
        headers=headers_for(client, "bob"),
    )
    assert others.status_code == 400  # bob has no provider for chain 1
