"""Delivery guarantees with a fake clock (no sleeps) and real local receivers: down then back,
429 Retry-After, a dead channel blocking no other, rate limits, de-duplication, spam control."""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.unit.alert_support import FakeClock, Received, Receiver, http_receiver
from tests.unit.rule_events import finding, tx_event
from timemachine.alerts import ChannelSender, DeliverySettings, Notifier
from timemachine.rules import load_text
from timemachine.security.outbound import OutboundPolicy
from timemachine.store import Database, open_database
from timemachine.store.alerts import AlertStore

LOCAL = OutboundPolicy.from_spec("127.0.0.1")


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
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sender(clock: FakeClock) -> AsyncIterator[ChannelSender]:
    s = ChannelSender(LOCAL, wall_clock=clock.now)
    yield s
    await s.aclose()


def make(
    rules: str, db: Database, sender: ChannelSender, clock: FakeClock, **limits: float
) -> Notifier:
    settings = DeliverySettings.model_validate({"max_retries": 8, **limits})
    return Notifier(
        load_text(rules), db, sender=sender, clock=clock, settings=settings, rng=random.Random(7)
    )


def hook(name: str, url: str, **extra: object) -> str:
    options = "".join(f", {k}: {v}" for k, v in extra.items())
    return f'  {name}: {{type: webhook, url: "{url}", secret: s{options}}}\n'


def numbered(n: int, **fields: object) -> list:  # type: ignore[type-arg]
    return [tx_event(tx={"hash": f"0x{i:064x}", "value": i}, **fields) for i in range(1, n + 1)]


async def test_receiver_down_then_back_gets_each_alert_once_in_order(
    db: Database, receiver: Receiver, sender: ChannelSender, clock: FakeClock
) -> None:
    back_at = clock.now() + 30
    seen: dict[str, int] = {}

    def answer(request: Received) -> tuple[int, dict[str, str]]:
        if clock.now() < back_at:
            return 503, {}
        key = request.headers["Idempotency-Key"]
        seen[key] = seen.get(key, 0) + 1
        return 200, {}

    receiver.answer = answer
    n = make(f"channels:\n{hook('h', receiver.url)}rules: [{{id: r, when: 'true', notify: [h]}}]",
             db, sender, clock)  # fmt: skip
    alerts = [a for event in numbered(5) for a in n.process(event)]
    assert len(alerts) == 5
    await n.deliveries.drain()
    assert clock.now() >= back_at
    accepted = [r.headers["Idempotency-Key"] for r in receiver.requests if r.headers and
                clock.now() >= back_at and seen.get(r.headers["Idempotency-Key"])]  # fmt: skip
    first_accepted = list(dict.fromkeys(accepted))
    assert first_accepted == [a.id for a in alerts]
    assert seen == {a.id: 1 for a in alerts}
    with db.session() as s:
        store = AlertStore(s)
        for alert in alerts:
            [delivery] = store.deliveries(alert.id)
            assert delivery.status == "delivered"
        retries = [a for a in store.attempts(alerts[0].id) if a.outcome == "retry"]
    assert retries
    assert all(a.status_code == 503 for a in retries)
    gaps = [b.at - a.at for a, b in itertools.pairwise(retries)]
    assert all(g >= 2.0 for g in gaps)  # backoff: at least the base between attempts


async def test_429_retry_after_is_honoured(
    db: Database, receiver: Receiver, sender: ChannelSender, clock: FakeClock
) -> None:
    def answer(request: Received) -> tuple[int, dict[str, str]]:
        return (429, {"Retry-After": "7"}) if len(receiver.requests) == 1 else (200, {})

    receiver.answer = answer
    n = make(f"channels:\n{hook('h', receiver.url)}rules: [{{id: r, when: 'true', notify: [h]}}]",
             db, sender, clock)  # fmt: skip
    [alert] = n.process(tx_event())
    await n.deliveries.drain()
    with db.session() as s:
        first, second = AlertStore(s).attempts(alert.id)
    assert (first.outcome, first.status_code, second.outcome) == ("retry", 429, "delivered")
    assert second.at - first.at == 7.0
    assert len(receiver.requests) == 2


async def test_a_dead_channel_blocks_no_other_and_ends_as_dead_letters(
    db: Database, receiver: Receiver, sender: ChannelSender, clock: FakeClock
) -> None:
    closed = "http://127.0.0.1:9/down"  # discard port: nothing listens
    text = (
        f"channels:\n{hook('down', closed)}{hook('up', receiver.url)}"
        "rules: [{id: r, when: 'true', notify: [down, up]}]"
    )
    n = make(text, db, sender, clock, max_retries=3)
    alerts = [a for event in numbered(3) for a in n.process(event)]
    await n.deliveries.drain()
    assert [r.headers["Idempotency-Key"] for r in receiver.requests] == [a.id for a in alerts]
    with db.session() as s:
        store = AlertStore(s)
        dead = store.dead_letters()
        assert [(d.alert_id, d.channel, d.attempts) for d in dead] == [
            (a.id, "down", 3) for a in alerts
        ]
        assert dead[0].last_error == "connection failed (ConnectError)"
        assert store.dead_letters("up") == []


async def test_rate_limit_delays_past_the_hour(
    db: Database, receiver: Receiver, sender: ChannelSender, clock: FakeClock
) -> None:
    start = clock.now()
    channel = hook("h", receiver.url, max_per_hour=2)
    text = f"channels:\n{channel}rules: [{{id: r, when: 'true', notify: [h]}}]"
    n = make(text, db, sender, clock)
    alerts = [a for event in numbered(3) for a in n.process(event)]
    await n.deliveries.drain()
    assert len(receiver.requests) == 3
    with db.session() as s:
        store = AlertStore(s)
        times = [store.deliveries(a.id)[0].delivered_at for a in alerts]
        assert [a.outcome for a in store.attempts(alerts[2].id)] == ["rate_limited", "delivered"]
    assert times[0] == times[1] == start
    assert times[2] == start + 3600


async def test_spam_is_held_back_by_window_and_cooldown(
    db: Database, receiver: Receiver, sender: ChannelSender, clock: FakeClock
) -> None:
    text = f"""channels:
{hook("h", receiver.url)}rules:
  - {{id: windowed, when: 'true', notify: [h], threshold: {{count: 5, window: 60s}}, cooldown: 60s}}
  - {{id: cooled, when: 'true', notify: [h], cooldown: 2s}}
"""
    n = make(text, db, sender, clock)
    raised = []
    for event in numbered(1000):  # 1,000 matches of each rule over 10 s
        raised += n.process(event)
        clock.t += 0.01
    by_rule = {rule: [a for a in raised if a.rule_id == rule] for rule in ("windowed", "cooled")}
    assert len(by_rule["windowed"]) == 1
    assert by_rule["windowed"][0].matches == 5
    assert len(by_rule["cooled"]) == 5
    assert n.policy.suppressed[("windowed", "threshold")] == 4
    assert n.policy.suppressed[("windowed", "cooldown")] == 995
    assert n.policy.suppressed_total("cooled") == 995
    await n.deliveries.drain()
    assert len(receiver.requests) == 6


async def test_one_alert_per_tx_across_stages(
    db: Database, receiver: Receiver, sender: ChannelSender, clock: FakeClock
) -> None:
    text = f"""channels:
{hook("h", receiver.url)}rules:
  - {{id: any-stage, when: 'finding.severity >= "high"', notify: [h]}}
  - {{id: every-stage, when: 'finding.severity >= "high"', notify: [h], dedup: false}}
"""
    n = make(text, db, sender, clock)
    pending = tx_event(findings=[finding("high")])
    raised = [a for stage in ("pending", "simulated", "mined")
              for a in n.process(pending.model_copy(update={"stage": stage}))]  # fmt: skip
    assert [(a.rule_id, a.stage) for a in raised] == [
        ("any-stage", "pending"),
        ("every-stage", "pending"),
        ("every-stage", "simulated"),
        ("every-stage", "mined"),
    ]
    assert n.policy.suppressed[("any-stage", "duplicate")] == 2
    # a second notifier on the same database (another worker) does not alert the tx again
    again = make(text, db, sender, clock)
    assert [a.rule_id for a in again.process(pending)] == ["every-stage"]


def test_store_lists_and_acknowledges(db: Database) -> None:
    payload = {"id": "a1", "rule_id": "r", "severity": "high", "stage": "pending",
               "chain": "devnet", "chain_id": 31337, "tx_hash": None,
               "created_at": "2026-12-03T10:00:00+00:00"}  # fmt: skip
    with db.session() as s:
        store = AlertStore(s)
        assert store.add(payload, ["h"], now=0.0)
        assert not store.add(payload, ["h"], now=0.0)
        assert [a.id for a in store.recent(acked=False)] == ["a1"]
        acked = store.ack("a1", by="alice")
        assert acked.acked_by == "alice"
        assert acked.acked_at is not None
        assert store.ack("a1", by="bob").acked_by == "alice"
        assert store.recent(acked=False) == []
        assert [d.status for d in store.deliveries("a1")] == ["queued"]


async def test_delivery_cut_off_mid_request_is_redelivered_with_the_same_key(
    db: Database, receiver: Receiver, sender: ChannelSender, clock: FakeClock
) -> None:
    """A worker killed after the receiver got the request but before the answer was recorded:
    the delivery is still queued, so it is sent again, with the same idempotency key."""
    arrived, release = threading.Event(), threading.Event()

    def answer(request: Received) -> tuple[int, dict[str, str]]:
        if len(receiver.requests) == 1:
            arrived.set()
            release.wait(timeout=30)
        return 200, {}

    receiver.answer = answer
    n = make(f"channels:\n{hook('h', receiver.url)}rules: [{{id: r, when: 'true', notify: [h]}}]",
             db, sender, clock)  # fmt: skip
    [alert] = n.process(tx_event())
    worker = asyncio.create_task(n.deliveries.drain())
    await asyncio.to_thread(arrived.wait, 30)
    worker.cancel()  # the worker dies mid-delivery
    with pytest.raises(asyncio.CancelledError):
        await worker
    release.set()
    with db.session() as s:
        assert AlertStore(s).deliveries(alert.id)[0].status == "queued"
    await n.deliveries.drain()  # another worker picks the queue up
    keys = [r.headers["Idempotency-Key"] for r in receiver.requests]
    assert keys == [alert.id, alert.id]  # the receiver de-duplicates by this key
    with db.session() as s:
        [delivery] = AlertStore(s).deliveries(alert.id)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
