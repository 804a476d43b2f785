"""The JetStream bus across processes (real NATS on 127.0.0.1:4222, real PostgreSQL): events
published by one process reach consumer groups in others, and a consumer process SIGKILLed
mid-stream loses no event and applies none twice to the store (`store.processed_events`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.integration.bus_support import (
    NATS_URL,
    ROWS_TABLE,
    open_bus,
    stop,
    throwaway_streams,
)
from tests.integration.service_support import wait_for
from timemachine.bus import StreamSettings
from timemachine.bus.jetstream import JetStreamBus
from timemachine.ports import Delivery
from timemachine.store import open_database

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 300
WAIT = 60.0


@pytest.fixture
def streams() -> StreamSettings:
    return throwaway_streams(ack_wait=2.0, max_deliver=10)


@pytest.fixture
async def bus(streams: StreamSettings) -> AsyncIterator[JetStreamBus]:
    async with open_bus("jetstream", streams) as opened:
        assert isinstance(opened, JetStreamBus)
        yield opened


def process_env(streams: StreamSettings, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        TIME_MACHINE_DATA_DIR=str(tmp_path / "data"),
        EVENT_BUS_URL=NATS_URL,
        EVENT_BUS_STREAM=streams.stream,
        EVENT_BUS_PREFIX=streams.prefix,
        EVENT_BUS_ACK_WAIT=str(streams.ack_wait),
        EVENT_BUS_MAX_DELIVER=str(streams.max_deliver),
        **extra,
    )
    return env


class Members:
    """`timemachine consume` processes of one test; whatever is still running at its end is
    killed (a failing test leaves nothing behind)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[subprocess.Popen[str]] = []

    def start(self, topic: str, group: str, handler: str, **extra: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "timemachine.cli.main", "consume", topic]
        process = subprocess.Popen(
            [*command, "--group", group, "--handler", handler],
            env={**self.env, **extra},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(WAIT)
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()


@contextmanager
def members(env: dict[str, str]) -> Iterator[Members]:
    started = Members(env)
    try:
        yield started
    finally:
        started.kill_all()


def terminated(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=WAIT)
    return process.returncode, out, err


PUBLISHER = """
import asyncio
from timemachine.bus import bus_of
from timemachine.settings import get_settings

async def main():
    bus = bus_of(get_settings())
    for n in range(50):
        bus.publish("tx_raw", {"n": n, "event_id": f"p{n}"})
    await bus.aclose()  # waits until the stream acknowledged every event

asyncio.run(main())
"""


async def test_events_cross_processes_both_ways(
    bus: JetStreamBus, streams: StreamSettings, tmp_path: Path
) -> None:
    env = process_env(streams, tmp_path)
    # Another process publishes and exits; this one's group then consumes every event.
    command = [sys.executable, "-c", PUBLISHER]
    published = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert published.returncode == 0, published.stderr
    received: list[Delivery] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        received.append(delivery)
        if len(received) == 50:
            done.set()

    task = asyncio.create_task(bus.consume("tx_raw", "here", handler))
    try:
        await asyncio.wait_for(done.wait(), WAIT)
    finally:
        await stop(task)
    assert sorted(d.event["n"] for d in received) == list(range(50))
    # This process publishes; a `timemachine consume` process prints each event.
    with members(env) as started:
        member = started.start("alerts", "tail", "print")
        for n in range(20):
            bus.publish("alerts", {"n": n, "severity": "high"})
        await bus.flush()
        assert member.stdout is not None
        read = asyncio.to_thread(lambda: [member.stdout.readline() for _ in range(20)])  # type: ignore[union-attr]
        lines = await asyncio.wait_for(read, WAIT)
        code, _, err = terminated(member)
    assert code == 0, err
    assert sorted(json.loads(line)["event"]["n"] for line in lines) == list(range(20))
    assert {json.loads(line)["topic"] for line in lines} == {"alerts"}
    counts = json.loads(err.strip().splitlines()[-1])
    assert counts == {
        "topic": "alerts",
        "group": "tail",
        "handled": 20,
        "failed": 0,
        "malformed": 0,
        "given_up": 0,
    }


@pytest.fixture
def store(postgres_url: str) -> Iterator[str]:
    """The fresh database, migrated, with the handler's effect table."""
    open_database(postgres_url).dispose()
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {ROWS_TABLE} (event_id TEXT NOT NULL, n INT)"))
    try:
        yield postgres_url
    finally:
        engine.dispose()


def _count(url: str, query: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


async def test_sigkilled_consumers_lose_no_event_and_store_none_twice(
    bus: JetStreamBus, streams: StreamSettings, store: str, tmp_path: Path
) -> None:
    deliveries = tmp_path / "deliveries.log"
    env = process_env(streams, tmp_path, DATABASE_URL=store, BUS_TEST_DELIVERIES=str(deliveries))
    handler = "tests.integration.bus_support:store_rows"
    rows = f"SELECT count(*) FROM {ROWS_TABLE}"
    for n in range(EVENTS):
        bus.publish("tx_simulated", {"n": n, "event_id": f"tx-{n}"})
    await bus.flush()

    with members(env) as started:
        # 1. A member kills itself after committing its 40th effect, before acknowledging it.
        suicidal = started.start("tx_simulated", "sink", handler, BUS_TEST_DIE_AT="40")
        assert await asyncio.to_thread(suicidal.wait, WAIT) == -signal.SIGKILL
        assert _count(store, rows) == 40
        # 2. Two members share the group; one is SIGKILLed from outside mid-stream.
        killed = started.start("tx_simulated", "sink", handler)
        survivor = started.start("tx_simulated", "sink", handler)
        wait_for(lambda: _count(store, rows) >= 120 or None, WAIT, "120 rows stored")
        killed.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(killed.wait, WAIT) == -signal.SIGKILL
        # 3. The survivor (and the redeliveries of what the dead held) finish the stream.
        wait_for(lambda: _count(store, rows) >= EVENTS or None, WAIT, "every row stored")
        code, _, err = terminated(survivor)
        assert code == 0, err

    assert _count(store, rows) == EVENTS
    assert _count(store, f"SELECT count(DISTINCT event_id) FROM {ROWS_TABLE}") == EVENTS
    assert _count(store, f"SELECT count(DISTINCT n) FROM {ROWS_TABLE}") == EVENTS
    assert _count(store, "SELECT count(*) FROM processed_events WHERE consumer_group = 'sink'") == (
        EVENTS
    )
    delivered = [line.split() for line in deliveries.read_text().splitlines()]
    assert {event_id for event_id, _ in delivered} == {f"tx-{n}" for n in range(EVENTS)}
    # The 40th event was applied, then redelivered (its ack died with its member) and skipped:
    # one row although it was handled at least twice.
    fortieth = [int(attempt) for event_id, attempt in delivered if event_id == "tx-39"]
    assert len(fortieth) >= 2
    assert fortieth == list(range(1, len(fortieth) + 1))
    assert len(delivered) > EVENTS  # redeliveries happened, yet every event is stored once
