"""The pieces of the durable bus that need no server: the idempotent store sink (on SQLite; the
PostgreSQL path runs in tests/integration/test_bus_processes.py), the adapter choice, the
`EVENT_BUS_URL` setting and `timemachine consume`'s bad input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from timemachine.bus import LocalBus, StreamSettings, bus_of, event_bus
from timemachine.bus.jetstream import JetStreamBus
from timemachine.bus.redis_pubsub import RedisBus
from timemachine.cli.main import app
from timemachine.ports import Delivery
from timemachine.settings import Settings, get_settings
from timemachine.store import Database, open_database
from timemachine.store.processed_events import (
    Effect,
    ProcessedEvent,
    exactly_once,
    prune_processed,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


def _processed(db: Database) -> list[tuple[str, str, str]]:
    with db.session() as s:
        rows = s.execute(select(ProcessedEvent)).scalars()
        return sorted((row.consumer_group, row.event_id, row.topic) for row in rows)


async def test_the_sink_applies_an_effect_once_per_event_id_and_group(db: Database) -> None:
    applied: list[tuple[str, int]] = []

    def effect(group: str) -> Effect:
        def apply(session: Session, delivery: Delivery) -> None:
            assert session.in_transaction()
            applied.append((group, delivery.event["n"]))

        return apply

    storage = exactly_once(db, "storage", effect("storage"))
    alerts = exactly_once(db, "alerts", effect("alerts"))
    first = Delivery("tx_raw", "e1", {"n": 1})
    for delivery in (first, Delivery("tx_raw", "e1", {"n": 1}, attempt=2), first):
        await storage(delivery)
    await alerts(first)  # another group applies its own effect
    await storage(Delivery("tx_raw", "e2", {"n": 2}))
    assert applied == [("storage", 1), ("alerts", 1), ("storage", 2)]
    assert _processed(db) == [
        ("alerts", "e1", "tx_raw"),
        ("storage", "e1", "tx_raw"),
        ("storage", "e2", "tx_raw"),
    ]


async def test_a_failed_effect_records_nothing_so_the_redelivery_applies_it(db: Database) -> None:
    attempts: list[int] = []

    def flaky(session: Session, delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if delivery.attempt == 1:
            raise RuntimeError("the database write failed")

    handler = exactly_once(db, "storage", flaky)
    with pytest.raises(RuntimeError, match="write failed"):
        await handler(Delivery("alerts", "a1", {}, attempt=1))
    assert _processed(db) == []
    await handler(Delivery("alerts", "a1", {}, attempt=2))
    await handler(Delivery("alerts", "a1", {}, attempt=3))
    assert attempts == [1, 2]
    assert _processed(db) == [("storage", "a1", "alerts")]


async def test_prune_forgets_ids_processed_before_a_time(db: Database) -> None:
    await exactly_once(db, "g", lambda _s, _d: None)(Delivery("blocks", "b1", {}))
    with db.session() as s:
        assert prune_processed(s, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) == 0
        assert prune_processed(s, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == 1
        assert s.scalar(select(func.count()).select_from(ProcessedEvent)) == 0


def test_the_bus_is_chosen_by_event_bus_url_then_redis_url() -> None:
    streams = StreamSettings(stream="S", prefix="p")
    assert isinstance(event_bus(None), LocalBus)
    assert isinstance(event_bus("redis://127.0.0.1:6379/0"), RedisBus)
    nats = event_bus("redis://127.0.0.1:6379/0", "nats://127.0.0.1:4222", streams)
    assert isinstance(nats, JetStreamBus)
    assert nats.streams == streams
    settings = Settings(event_bus_url="nats://h:4222", event_bus_stream="MON", event_bus_ack_wait=9)
    configured = bus_of(settings)
    assert isinstance(configured, JetStreamBus)
    assert (configured.streams.stream, configured.streams.ack_wait) == ("MON", 9.0)
    assert configured.streams.subject("alerts") == "timemachine.alerts"


@pytest.mark.parametrize("url", ["http://127.0.0.1:4222", "nats://a:4222,redis://b"])
def test_event_bus_url_must_be_nats(url: str) -> None:
    with pytest.raises(ValidationError, match="EVENT_BUS_URL must be nats://"):
        Settings(event_bus_url=url)


@pytest.fixture
def no_event_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("EVENT_BUS_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["consume", "mempool", "--group", "g"], "unknown topic 'mempool'; the topics are tx_raw"),
        (["consume", "alerts", "--group", "a.b"], "invalid consumer group 'a.b'"),
        (["consume", "alerts", "--group", "g", "--handler", "nomodule"], "give package.module"),
        (["consume", "alerts", "--group", "g", "--handler", "json:nope"], "cannot be loaded"),
        (["consume", "alerts", "--group", "g"], "need EVENT_BUS_URL=nats://"),
    ],
)
def test_consume_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, no_event_bus: None
) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_consume_with_nats_unreachable_is_one_line_and_exit_5(
    monkeypatch: pytest.MonkeyPatch, no_event_bus: None
) -> None:
    monkeypatch.setenv("EVENT_BUS_URL", "nats://127.0.0.1:1")
    result = CliRunner().invoke(app, ["consume", "alerts", "--group", "g"])
    assert result.exit_code == 5, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: NATS at nats://127.0.0.1:1 unreachable")
