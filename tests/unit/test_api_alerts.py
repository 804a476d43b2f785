"""Alerts and rules over HTTP: list, detail, acknowledge, dead letters, validate, dry run, and
new alerts pushed on /ws/alerts."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.alert_support import FakeClock
from tests.unit.api_support import client, database, headers_for, isolated_env
from tests.unit.rule_events import finding, tx_event
from timemachine.alerts import ALERTS_CHANNEL, ChannelSender, Notifier
from timemachine.models.auth import Role
from timemachine.rules import load_text
from timemachine.security.outbound import OutboundPolicy

__all__ = ["client", "isolated_env"]  # fixtures
API = "/api/time-machine"
DOCUMENT = """
channels:
  hook: {type: webhook, url: "http://127.0.0.1:9/down", secret: s}
rules:
  - id: exploit-before-inclusion
    when: 'stage == "pending" and finding.severity >= "high"'
    severity: critical
    notify: [hook]
"""


def raise_alert(client: TestClient) -> str:
    bus = client.app.state.timemachine.bus  # type: ignore[attr-defined]
    notifier = Notifier(
        load_text(DOCUMENT),
        database(client),
        sender=ChannelSender(OutboundPolicy.from_spec("127.0.0.1")),
        clock=FakeClock(),
        on_alert=lambda a: bus.publish(ALERTS_CHANNEL, a.model_dump(mode="json")),
        rng=random.Random(1),
    )
    [alert] = notifier.process(tx_event(findings=[finding("critical")]))
    return alert.id


def test_list_detail_and_ack(client: TestClient) -> None:
    alert_id = raise_alert(client)
    [listed] = client.get(f"{API}/alerts", params={"acked": False}).json()
    assert (listed["id"], listed["rule_id"], listed["severity"]) == (
        alert_id,
        "exploit-before-inclusion",
        "critical",
    )
    detail = client.get(f"{API}/alerts/{alert_id}").json()
    assert [(d["channel"], d["status"]) for d in detail["deliveries"]] == [("hook", "queued")]
    assert detail["attempts"] == []
    viewer = headers_for(client, "vera", Role.VIEWER)
    assert client.post(f"{API}/alerts/{alert_id}/ack", headers=viewer).status_code == 403
    acked = client.post(f"{API}/alerts/{alert_id}/ack").json()
    assert acked["acked_by"] == "alice"
    assert client.get(f"{API}/alerts", params={"acked": False}).json() == []
    missing = client.post(f"{API}/alerts/abc/ack")
    assert missing.status_code == 404
    assert "no alert 'abc'" in missing.json()["detail"]
    assert client.get(f"{API}/alerts/dead-letters").json() == []


def test_validate_and_dry_run(client: TestClient) -> None:
    allowed = DOCUMENT.replace("127.0.0.1:9/down", "hooks.example.org/x")
    assert client.post(f"{API}/rules/validate", json={"document": allowed}).json() == {
        "rules": 1,
        "channels": 1,
    }
    event = tx_event(findings=[finding("high")]).model_dump(mode="json", by_alias=True)
    report = client.post(f"{API}/rules/dry-run", json={"document": allowed, "event": event}).json()
    [match] = report["matches"]
    assert match["rule"] == "exploit-before-inclusion"
    assert match["evidence"] == {"stage": "pending", "finding.severity": "high"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (DOCUMENT, "channel 'hook': this URL is not allowed"),
        ("rules: [{id: a, when: 'tx.value > \"x\"'}]", "compares int with str"),
        ("rules: [{id: a, wasm: /etc/passwd}]", "name a WASM module"),
        ("channels: {h: {type: slack, url: '${DATABASE_URL}'}}", "DATABASE_URL is not set"),
    ],
)
def test_bad_documents_are_400(client: TestClient, document: str, message: str) -> None:
    answer = client.post(f"{API}/rules/validate", json={"document": document})
    assert answer.status_code == 400
    assert message in answer.json()["detail"]


def test_websocket_pushes_new_alerts(client: TestClient) -> None:
    with client.websocket_connect("/ws/alerts") as socket:
        assert socket.receive_json() == {"type": "hello", "channel": "alerts"}
        alert_id = raise_alert(client)
        pushed = socket.receive_json()
    assert (pushed["id"], pushed["stage"]) == (alert_id, "pending")


def test_websocket_needs_credentials(client: TestClient) -> None:
    client.headers.pop("Authorization")
    with client.websocket_connect("/ws/alerts") as socket:
        assert socket.receive_json()["type"] == "error"
        with pytest.raises(WebSocketDisconnect):
            socket.receive_json()
