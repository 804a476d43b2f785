"""Faults in the running service: a worker killed mid-session, a Redis restart, an anvil crash.

Real processes and services: Celery workers as subprocesses, the machine's PostgreSQL, RabbitMQ
and Redis. Nothing may be left running and no session may stay stuck in `running`.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.integration.service_support import (
    RABBITMQ_URL,
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    alive,
    purge_queues,
    require_service,
    start_worker,
    wait_for,
)
from timemachine.bus import LocalBus, session_channel
from timemachine.bus.redis_pubsub import RedisBus
from timemachine.catalog.incidents import bundled_records
from timemachine.forks.locate import locate_binary
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.orchestration.progress import Reporter
from timemachine.settings import Settings
from timemachine.store import Database, ReplaySessions, open_database, upsert_catalog
from timemachine.tasks.app import create_celery
from timemachine.tasks.queue import CeleryQueue
from timemachine.tasks.submit import enqueue

pytestmark = pytest.mark.integration


@pytest.fixture
def database(postgres_url: str) -> Iterator[Database]:
    db = open_database(postgres_url)
    with db.session() as s:
        upsert_catalog(s, bundled_records())
    yield db
    db.dispose()


def _submit(db: Database, settings: Settings, exploit_id: str) -> str:
    with db.session() as s:
        record = ReplaySessions(s).create(
            owner="alice", kind="exploit", request={"exploit_id": exploit_id}
        )
    enqueue(CeleryQueue(create_celery(settings)), record, Reporter(db, LocalBus(), record.id))
    return record.id


def _session(db: Database, session_id: str) -> ReplaySessionRecord:
    with db.session() as s:
        return ReplaySessions(s).require(session_id)


def _finished(db: Database, session_id: str) -> ReplaySessionRecord | None:
    record = _session(db, session_id)
    return record if record.status.is_terminal else None


def test_a_worker_killed_mid_session_is_redelivered_and_the_session_completes(
    database: Database, postgres_url: str, tmp_path: Path
) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    settings = Settings(
        database_url=postgres_url, celery_broker_url=RABBITMQ_URL, data_dir=tmp_path
    )
    purge_queues(RABBITMQ_URL)
    first = start_worker(settings, tmp_path)
    session_id = _submit(database, settings, "reentrancy-bank")

    wait_for(lambda: _session(database, session_id).status == "running", 60, "a running session")
    anvils = wait_for(first.anvils, 60, "the first worker's devnet anvil")
    first.kill()
    assert _session(database, session_id).status == "running"  # the work was lost mid-way
    wait_for(lambda: not any(alive(pid) for pid in anvils), 10, "the dead worker's anvils to exit")

    second = start_worker(settings, tmp_path)
    try:
        record = wait_for(lambda: _finished(database, session_id), 120, "redelivery to finish")
        assert (record.status, record.progress, record.error) == ("completed", 100.0, None)
        with database.session() as s:
            [result] = ReplaySessions(s).results(session_id)
        assert result.replay is not None
        assert result.analysis is not None
        assert result.replay["fidelity"]["verdict"] == "exact"
        assert result.analysis["findings"][0]["vulnerability_class"] == "reentrancy"
    finally:
        leftover = second.anvils()
        second.stop()
    assert not any(alive(pid) for pid in leftover), "a stopped worker left anvil running"


def _restart_redis() -> None:
    """Stop the machine's Redis and start it again with the command the machine uses."""
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    with contextlib.suppress(redis.ConnectionError):  # Redis hangs up instead of answering
        client.shutdown(nosave=True)
    client.close()
    subprocess.run(
        [
            "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1",
            "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no",
            "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
        ],
        check=True,
        timeout=30,
    )  # fmt: skip

    def answers() -> bool:
        try:
            return bool(redis.Redis(host=REDIS_HOST, port=REDIS_PORT).ping())
        except redis.ConnectionError:
            return False

    wait_for(answers, 30, "Redis to come back")


async def test_the_service_recovers_from_a_redis_restart(
    database: Database, postgres_url: str, tmp_path: Path
) -> None:
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    settings = Settings(
        database_url=postgres_url,
        celery_broker_url=REDIS_URL,
        redis_url=REDIS_URL,
        data_dir=tmp_path,
        broker_visibility_timeout=30,
    )
    redis.Redis.from_url(REDIS_URL).flushdb()
    worker = start_worker(settings, tmp_path)
    bus = RedisBus(REDIS_URL)
    try:
        before = _submit(database, settings, "unprotected-initializer")
        assert wait_for(lambda: _finished(database, before), 90, "a session").status == "completed"

        await asyncio.to_thread(_restart_redis)

        after = _submit(database, settings, "unprotected-initializer")
        events: list[dict[str, object]] = []

        async def follow() -> None:
            async for event in bus.subscribe(session_channel(after)):
                events.append(event)
                if event["status"] == "completed":
                    return

        listener = asyncio.create_task(follow())
        deadline = time.monotonic() + 90
        while not listener.done() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert _session(database, after).status == "completed"
        assert events
        assert events[-1]["progress"] == 100.0
        listener.cancel()
    finally:
        await bus.aclose()
        worker.stop()


def test_an_anvil_crash_fails_the_session_with_a_clear_error(
    database: Database, postgres_url: str, tmp_path: Path
) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    real = locate_binary("anvil", None)
    crashing = tmp_path / "anvil"
    crashing.write_text(
        "#!/bin/sh\n"
        "# forks die at start (an invalid flag); the devnet runs normally\n"
        f'case "$*" in *--fork-url*) exec "{real}" --no-such-flag "$@";; esac\n'
        f'exec "{real}" "$@"\n'
    )
    crashing.chmod(0o755)
    settings = Settings(
        database_url=postgres_url,
        celery_broker_url=RABBITMQ_URL,
        data_dir=tmp_path,
        anvil_path=crashing,
    )
    purge_queues(RABBITMQ_URL)
    worker = start_worker(settings, tmp_path)
    try:
        session_id = _submit(database, settings, "reentrancy-bank")
        record = wait_for(lambda: _finished(database, session_id), 90, "the session to end")
        assert record.status == "failed"
        assert record.error is not None
        assert "anvil" in record.error
        assert "Traceback" not in record.error
    finally:
        anvils = worker.anvils()
        worker.stop()
    assert not any(alive(pid) for pid in anvils)
