"""Reliability of the embedded default against real processes (issue 13, item 8).

A SIGKILLed worker loses nothing: after a restart every session completes, the ones it was
running are re-run from 0 with an event saying so; a pool process killed alone is re-queued by
the lease sweeper of its still-living worker; `kill -9` of `serve` leaves no process of it; a
second worker, beat or serve on the same data directory refuses to start. Leases are short here
(SESSION_LEASE_SECONDS=2) so each test's wall time stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.service_support import (
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    alive,
    command_of,
    descendants,
    devnet_hashes,
    parent_of,
    queue_transaction_sessions,
    require_service,
    service_env,
    session_records,
    start_worker,
    wait_for,
)
from timemachine.bus import session_channel
from timemachine.bus.redis_pubsub import RedisBus
from timemachine.devnet import Devnet
from timemachine.models.sessions import ReplaySessionRecord, SessionStatus
from timemachine.settings import Settings
from timemachine.store import Database, ReplaySessions, open_database
from timemachine.store.sessions import restarted_stage

pytestmark = pytest.mark.integration

LEASE = 2.0
TXS_PER_SESSION = 8


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The embedded default (SQLite store, SQLite broker) in a fresh data directory."""
    return Settings(data_dir=tmp_path / "data", session_lease_seconds=LEASE)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = open_database(settings.database_url)
    yield db
    db.dispose()


def _submit(db: Database, settings: Settings, devnet: Devnet, count: int) -> list[str]:
    """`count` transaction sessions of TXS_PER_SESSION devnet txs each, queued."""
    hashes = devnet_hashes(devnet)
    return queue_transaction_sessions(
        db, settings, hashes, count, per_session=TXS_PER_SESSION, owner="alice"
    )


def _all_completed(db: Database, ids: list[str]) -> list[ReplaySessionRecord] | None:
    records = session_records(db, ids)
    return records if all(r.status.is_terminal for r in records) else None


def _assert_every_session_completed_with_all_results(
    db: Database, records: list[ReplaySessionRecord]
) -> None:
    assert [(r.status, r.progress, r.error) for r in records] == [
        (SessionStatus.COMPLETED, 100.0, None)
    ] * len(records)
    with db.session() as s:
        sessions = ReplaySessions(s)
        for record in records:
            results = sessions.results(record.id)
            assert [r.tx_index for r in results] == list(range(TXS_PER_SESSION))
            assert all(r.replay is not None for r in results)


class Events:
    """Every event published for some sessions on Redis, collected in a thread."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.events: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._bus = RedisBus(REDIS_URL)
        self._tasks = [
            asyncio.run_coroutine_threadsafe(self._collect(session_id), self._loop)
            for session_id in ids
        ]

    async def _collect(self, session_id: str) -> None:
        async for event in self._bus.subscribe(session_channel(session_id)):
            self.events.append(event)

    def of(self, session_id: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["session_id"] == session_id]

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        asyncio.run_coroutine_threadsafe(self._bus.aclose(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def test_sigkill_of_the_embedded_worker_mid_replay_loses_nothing_and_progress_restarts(
    devnet: Devnet, settings: Settings, database: Database, tmp_path: Path
) -> None:
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    settings = settings.model_copy(update={"redis_url": REDIS_URL})  # events, for the test
    ids = _submit(database, settings, devnet, 4)
    events = Events(ids)
    first = start_worker(settings, tmp_path, concurrency=2)
    try:

        def mid_replay() -> list[ReplaySessionRecord]:
            records = session_records(database, ids)
            return [r for r in records if r.status == "running" and r.progress > 5]

        wait_for(mid_replay, 120, "a session part-way through its transactions")
        anvils = first.anvils()
        first.kill()  # SIGKILL the whole worker: main process, pool processes (anvils follow)
        interrupted = [r for r in session_records(database, ids) if r.status == "running"]
        assert interrupted, "the kill came after every session had finished"
        wait_for(lambda: not any(alive(pid) for pid in anvils), 15, "the dead worker's anvils")

        second = start_worker(settings, tmp_path, concurrency=2)
        try:
            records = wait_for(lambda: _all_completed(database, ids), 240, "every session")
        finally:
            second.stop()
        _assert_every_session_completed_with_all_results(database, records)
        reruns = {r.id: r.attempts for r in records if r.attempts > 1}
        assert set(reruns) == {r.id for r in interrupted}
        assert set(reruns.values()) == {2}
        reached = []
        for record in interrupted:
            seen = events.of(record.id)
            before = [e for e in seen if e["attempt"] == 1 and e["status"] == "running"]
            reached.append(max(e["progress"] for e in before))
            restart = next(e for e in seen if e["attempt"] == 2)
            assert (restart["status"], restart["progress"], restart["stage"]) == (
                "running", 0.0, restarted_stage(2)
            )  # fmt: skip
            assert seen[-1]["status"] == "completed"
        assert min(reached) >= 1  # every interrupted run had shown progress …
        assert max(reached) > 5  # … one of them part-way through its transactions
    finally:
        events.close()


def test_a_pool_process_killed_alone_is_requeued_by_the_lease_sweeper(
    devnet: Devnet, settings: Settings, database: Database, tmp_path: Path
) -> None:
    [session_id] = _submit(database, settings, devnet, 1)
    worker = start_worker(settings, tmp_path, concurrency=1)
    try:

        def running_pool_process() -> int | None:
            record = session_records(database, [session_id])[0]
            if record.status != "running" or record.progress <= 5:
                return None
            main = worker.process.pid
            pool = [pid for pid in descendants(main) if parent_of(pid) == main]
            return pool[0] if len(pool) == 1 else None  # concurrency 1: one pool process

        pool_pid = wait_for(running_pool_process, 120, "the session running in a pool process")
        os.kill(pool_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        record = wait_for(lambda: _all_completed(database, [session_id]), 120, "the re-run")[0]
        assert time.monotonic() - killed_at < 60  # lease 2 s, sweep every 1 s, then the re-run
        assert record.attempts == 2
        _assert_every_session_completed_with_all_results(database, [record])
    finally:
        worker.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(settings: Settings, log: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "timemachine.cli.main", "serve", "--port", str(port)]
    command += ["--workers", "1"]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=service_env(settings), stdout=out, stderr=subprocess.STDOUT
        )


def test_kill_9_of_serve_leaves_no_process_of_it(
    devnet: Devnet, settings: Settings, database: Database, tmp_path: Path
) -> None:
    port = _free_port()
    serve = _serve(settings, tmp_path / "serve.log", port)
    tree: set[int] = set()
    try:

        def up() -> bool:
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"http://127.0.0.1:{port}/api/system/health").status_code > 0
            return False

        wait_for(up, 60, "the API")
        _submit(database, settings, devnet, 2)

        def anvils_running() -> set[int] | None:
            found = descendants(serve.pid)
            return found if any("anvil" in command_of(pid) for pid in found) else None

        tree = wait_for(anvils_running, 120, "the worker's anvils")
        commands = [command_of(pid) for pid in tree]
        assert any(" celery " in c and " worker " in c for c in commands)
        assert any(" celery " in c and " beat " in c for c in commands)
        serve.send_signal(signal.SIGKILL)
        serve.wait(10)
        wait_for(lambda: not any(alive(pid) for pid in tree), 15, "every process of serve to die")
    finally:
        for pid in tree:  # only if the test failed: leave nothing behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if serve.poll() is None:
            serve.kill()
            serve.wait(10)


def test_a_second_worker_beat_or_serve_on_the_same_data_dir_refuses(
    settings: Settings, tmp_path: Path
) -> None:
    first = start_worker(settings, tmp_path, concurrency=1)
    beat_command = [sys.executable, "-m", "celery", "-A", "timemachine.tasks.app", "beat"]
    beat_command += ["-s", str(tmp_path / "beat-schedule")]
    beat = subprocess.Popen(
        beat_command,
        env=service_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    lock = Path(str(settings.data_dir)) / "worker.lock"
    try:
        wait_for(lambda: lock.exists() and lock.read_text().strip(), 60, "the worker's lock")
        holder = lock.read_text().strip()
        assert holder == str(first.process.pid)
        beat_lock = lock.with_name("beat.lock")
        wait_for(lambda: beat_lock.exists() and beat_lock.read_text().strip(), 60, "beat's lock")

        second = start_worker(settings, tmp_path, concurrency=1)
        assert second.process.wait(60) == 7
        output = second.log.read_text()
        assert "Traceback" not in output
        assert [line for line in output.splitlines() if line.startswith("error")] == [
            f"error: another worker (pid {holder}) already runs for the data directory "
            f"{settings.data_dir}; stop it first or use another TIME_MACHINE_DATA_DIR"
        ]

        again = subprocess.run(
            beat_command, env=service_env(settings), capture_output=True, timeout=60, check=False
        )
        assert again.returncode == 7
        assert f"error: another beat (pid {beat.pid}) already runs" in again.stderr.decode()

        port = _free_port()
        serve = subprocess.run(
            [sys.executable, "-m", "timemachine.cli.main", "serve", "--port", str(port)],
            env=service_env(settings),
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert serve.returncode == 7
        assert (
            serve.stderr.decode()
            .strip()
            .splitlines()[-1]
            .startswith(f"error: another worker (pid {holder}) already runs")
        )
        assert first.process.poll() is None  # the first worker is untouched
    finally:
        beat.terminate()
        beat.wait(30)
        first.stop()
