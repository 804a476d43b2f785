"""Rule documents over REST: owned, versioned, enabled/disabled, checked at write time (422),
dry-run on an event; channel secrets in the vault (`vault:NAME`), never returned."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.api_support import client, headers_for, isolated_env
from tests.unit.rule_events import finding, tx_event
from timemachine.models.auth import Role

__all__ = ["client", "isolated_env"]  # fixtures
RULES = "/api/time-machine/rules"
DOCUMENT = """
channels:
  hook: {type: webhook, url: "https://hooks.example.org/x", secret: "vault:hook-key"}
rules:
  - id: exploit-before-inclusion
    when: 'stage == "pending" and finding.severity >= "high"'
    severity: critical
    notify: [hook]
"""


def test_crud_versions_and_owners(client: TestClient) -> None:
    missing_secret = client.post(RULES, json={"name": "ops", "document": DOCUMENT})
    assert missing_secret.status_code == 422
    assert "channel secret 'vault:hook-key' is not in the vault" in missing_secret.json()["detail"]
    assert client.put(f"{RULES}/secrets/hook-key", json={"value": "s3cret"}).status_code == 204
    assert client.get(f"{RULES}/secrets").json() == ["hook-key"]

    created = client.post(RULES, json={"name": "ops", "document": DOCUMENT})
    assert created.status_code == 201
    rule = created.json()
    assert (rule["name"], rule["version"], rule["enabled"]) == ("ops", 1, True)
    assert "s3cret" not in created.text
    rule_id = rule["id"]

    bad = client.put(
        f"{RULES}/{rule_id}", json={"document": "rules: [{id: a, when: 'tx.value > \"x\"'}]"}
    )
    assert bad.status_code == 422
    assert "compares int with str" in bad.json()["detail"]
    renamed = client.put(f"{RULES}/{rule_id}", json={"name": "ops v2", "enabled": False}).json()
    assert (renamed["name"], renamed["version"], renamed["enabled"]) == ("ops v2", 2, False)
    versions = client.get(f"{RULES}/{rule_id}/versions").json()
    assert [(v["version"], v["name"], v["enabled"]) for v in versions] == [
        (2, "ops v2", False),
        (1, "ops", True),
    ]
    assert versions[1]["document"] == DOCUMENT

    bob = headers_for(client, "bob", Role.ANALYST)
    assert client.get(RULES, headers=bob).json() == []
    assert client.get(f"{RULES}/{rule_id}", headers=bob).status_code == 404
    assert client.put(f"{RULES}/{rule_id}", json={"enabled": True}, headers=bob).status_code == 404
    viewer = headers_for(client, "vera", Role.VIEWER)
    assert (
        client.post(RULES, json={"name": "x", "document": DOCUMENT}, headers=viewer).status_code
        == 403
    )
    assert client.delete(f"{RULES}/{rule_id}", headers=viewer).status_code == 403
    admin = headers_for(client, "root", Role.ADMIN)
    assert [r["id"] for r in client.get(RULES, headers=admin).json()] == [rule_id]

    assert client.delete(f"{RULES}/{rule_id}").status_code == 204
    assert client.get(f"{RULES}/{rule_id}").status_code == 404
    assert client.get(f"{RULES}/{rule_id}/versions").status_code == 404


def test_dry_run_of_a_stored_document(client: TestClient) -> None:
    client.put(f"{RULES}/secrets/hook-key", json={"value": "s3cret"})
    rule_id = client.post(RULES, json={"name": "ops", "document": DOCUMENT}).json()["id"]
    event = tx_event(findings=[finding("high")]).model_dump(mode="json", by_alias=True)
    report = client.post(f"{RULES}/{rule_id}/test", json={"event": event}).json()
    [match] = report["matches"]
    assert match["rule"] == f"{rule_id}:exploit-before-inclusion"
    assert match["notify"] == [f"{rule_id}:hook"]
    assert match["evidence"] == {"stage": "pending", "finding.severity": "high"}
    quiet = tx_event(findings=[finding("low")]).model_dump(mode="json", by_alias=True)
    assert client.post(f"{RULES}/{rule_id}/test", json={"event": quiet}).json()["matches"] == []
    bob = headers_for(client, "bob", Role.ANALYST)
    assert (
        client.post(f"{RULES}/{rule_id}/test", json={"event": event}, headers=bob).status_code
        == 404
    )


def test_bad_requests_are_one_line_4xx(client: TestClient) -> None:
    assert client.get(f"{RULES}/not-an-id").status_code == 422
    assert client.post(RULES, json={"name": "", "document": DOCUMENT}).status_code == 422
    wasm = client.post(RULES, json={"name": "w", "document": "rules: [{id: a, wasm: /etc/x.wat}]"})
    assert wasm.status_code == 422
    assert "name a WASM module" in wasm.json()["detail"]
    env = client.post(
        RULES, json={"name": "e", "document": "channels: {h: {type: slack, url: '${HOME}'}}"}
    )
    assert (env.status_code, env.json()["detail"]) == (
        422,
        "environment variable HOME is not set (named as ${HOME})",
    )
    assert client.delete(f"{RULES}/secrets/nope").status_code == 404
