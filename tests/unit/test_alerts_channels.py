"""Alert channels against real local receivers: a signed webhook (signature and timestamp
verified), e-mail over SMTP with STARTTLS (aiosmtpd), and Slack, Discord, Telegram and PagerDuty
payloads at a local base URL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.unit.alert_support import FakeClock, Receiver, http_receiver, starttls_server
from tests.unit.rule_events import finding, tx_event
from timemachine.alerts import ChannelSender, Notifier
from timemachine.alerts.render import LIMITS
from timemachine.alerts.signing import verify
from timemachine.rules import RuleError, load_text
from timemachine.security.outbound import OutboundPolicy
from timemachine.store import Database, open_database
from timemachine.store.alerts import AlertStore

SECRET = "hook-secret-123"
LOCAL = OutboundPolicy.from_spec("127.0.0.1, localhost")
RULE = """
  - id: exploit-before-inclusion
    when: 'stage == "pending" and finding.severity >= "high"'
    severity: critical
    notify: [{channels}]
"""


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield database
    database.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as r:
        yield r


@pytest.fixture
async def sender() -> AsyncIterator[ChannelSender]:
    clock = FakeClock()
    s = ChannelSender(LOCAL, wall_clock=clock.now)
    yield s
    await s.aclose()


def notifier(text: str, db: Database, sender: ChannelSender, env: dict[str, str]) -> Notifier:
    clock = FakeClock()
    sender.wall_clock = clock.now
    return Notifier(load_text(text, environ=env), db, sender=sender, clock=clock)


async def test_signed_webhook_once_per_tx(
    db: Database, receiver: Receiver, sender: ChannelSender
) -> None:
    text = (
        "channels:\n"
        f'  ops-hook: {{type: webhook, url: "{receiver.url}/hook", secret: "${{HOOK_SECRET}}"}}\n'
        "rules:" + RULE.format(channels="ops-hook")
    )
    n = notifier(text, db, sender, {"HOOK_SECRET": SECRET})
    event = tx_event(findings=[finding("critical")])
    [alert] = n.process(event)
    assert n.process(event.model_copy(update={"provider": "second"})) == []
    assert n.policy.suppressed[("exploit-before-inclusion", "duplicate")] == 1
    await n.deliveries.drain()
    [request] = receiver.requests
    assert request.path == "/hook"
    body = request.json()
    assert verify(
        SECRET,
        request.body,
        request.headers["X-TimeMachine-Signature"],
        request.headers["X-TimeMachine-Timestamp"],
        now=n.clock.now(),
    )
    signature, stamp = (
        request.headers["X-TimeMachine-Signature"],
        request.headers["X-TimeMachine-Timestamp"],
    )
    assert not verify(SECRET, request.body + b" ", signature, stamp, now=n.clock.now())
    assert not verify(SECRET, request.body, signature, stamp, now=n.clock.now() + 301)
    assert str(body["sent_at"]) == request.headers["X-TimeMachine-Timestamp"]
    assert request.headers["Idempotency-Key"] == alert.id
    assert body["alert"]["rule_id"] == "exploit-before-inclusion"
    assert body["alert"]["severity"] == "critical"
    assert body["alert"]["tx_hash"] == event.tx.hash
    assert body["alert"]["evidence"] == {"stage": "pending", "finding.severity": "critical"}
    with db.session() as s:
        [delivery] = AlertStore(s).deliveries(alert.id)
        assert (delivery.status, delivery.attempts) == ("delivered", 1)


async def test_chat_and_paging_payloads(
    db: Database, receiver: Receiver, sender: ChannelSender
) -> None:
    long_template = "{{ alert.rule_id }} " + "x" * 5000
    text = f"""
channels:
  slack: {{type: slack, url: "{receiver.url}/slack"}}
  discord: {{type: discord, url: "{receiver.url}/discord", template: "{long_template}"}}
  telegram: {{type: telegram, url: "{receiver.url}", secret: "123:tok", chat_id: "-100"}}
  pd: {{type: pagerduty, url: "{receiver.url}", secret: "routing-key"}}
rules:""" + RULE.format(channels="slack, discord, telegram, pd")
    n = notifier(text, db, sender, {})
    [alert] = n.process(tx_event(findings=[finding("high")]))
    await n.deliveries.drain()
    by_path = {r.path: r.json() for r in receiver.requests}
    assert set(by_path) == {"/slack", "/discord", "/bot123:tok/sendMessage", "/v2/enqueue"}
    slack = by_path["/slack"]["text"]
    assert slack.startswith("[CRITICAL] rule exploit-before-inclusion matched at stage pending")
    assert f"tx {alert.tx_hash}" in slack
    discord = by_path["/discord"]["content"]
    assert len(discord) == LIMITS["discord"]
    assert discord.endswith("…")
    assert discord.startswith("exploit-before-inclusion xxx")
    telegram = by_path["/bot123:tok/sendMessage"]
    assert telegram["chat_id"] == "-100"
    assert telegram["text"] == slack
    page = by_path["/v2/enqueue"]
    assert page["routing_key"] == "routing-key"
    assert (page["event_action"], page["dedup_key"]) == ("trigger", alert.id)
    assert page["payload"]["severity"] == "critical"
    assert page["payload"]["summary"] == slack[: LIMITS["pagerduty"]]


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ("{type: webhook, url: 'http://127.0.0.1/x'}", "channel 'c' (webhook) needs secret"),
        ("{type: telegram, secret: t}", "needs chat_id"),
        ("{type: email, smtp_host: h, from: a@b}", "needs to"),
        ("{type: slack, url: 'http://10.1.2.3/x'}", "channel 'c': this URL is not allowed"),
        ("{type: slack, url: 'ftp://x/y'}", "must be an http, https"),
        ("{type: slack, url: 'http://127.0.0.1/', template: '{{ oops'}", "template is invalid"),
    ],
)
def test_channels_checked_at_load(
    db: Database, sender: ChannelSender, channel: str, message: str
) -> None:
    text = f"channels:\n  c: {channel}\nrules: [{{id: r, when: 'true', notify: [c]}}]"
    with pytest.raises(RuleError) as caught:
        notifier(text, db, sender, {})
    assert message in caught.value.message


async def test_email_over_starttls(tmp_path: Path, db: Database) -> None:
    with starttls_server(tmp_path) as (port, inbox, client_tls):
        sender = ChannelSender(LOCAL, ssl_context=client_tls)
        try:
            text = f"""
channels:
  mail: {{type: email, smtp_host: localhost, smtp_port: {port}, from: tm@example.org,
          to: [ops@example.org, sec@example.org]}}
rules:""" + RULE.format(channels="mail")
            n = notifier(text, db, sender, {})
            [alert] = n.process(tx_event(findings=[finding("critical")]))
            await n.deliveries.drain()
        finally:
            await sender.aclose()
    [(mail_from, rcpt_tos, content, tls)] = inbox.messages
    assert (mail_from, rcpt_tos, tls) == (
        "tm@example.org",
        ["ops@example.org", "sec@example.org"],
        True,
    )
    message = message_from_bytes(content)
    assert message["Subject"] == "[CRITICAL] exploit-before-inclusion on devnet"
    assert message["Message-ID"] == f"<{alert.id}@timemachine>"
    assert f"tx {alert.tx_hash}" in message.get_payload()
