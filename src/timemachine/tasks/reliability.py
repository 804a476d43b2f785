"""No lost or stranded work, no orphans, one worker per data directory (Celery signal handlers).

Worker main process, at start (`worker_init`, before the pool forks):
- takes the data directory's worker lock (`worker.lock`): a second worker for the same data
  directory refuses to start with one line on stderr (exit code 7);
- on the embedded broker, hands back the messages the previous (dead) worker had taken: kombu's
  SQLAlchemy transport hides a message when it is delivered and never shows it again, so without
  this a SIGKILLed worker's running and prefetched sessions would never run. The lock proves that
  worker is gone, so its sessions go back to pending at once (no lease wait);
- when started by `serve`, watches its parent (`ParentWatchdog`).
Then (`worker_ready`) it starts the sweeper: a thread that re-queues, every half lease, the
sessions whose lease expired (their worker died; see `orchestration.leases`), on every broker.

Pool processes (`worker_process_init`) and the embedded beat die with their parent
(PR_SET_PDEATHSIG) and drop their inherited copy of the worker lock. A beat (`beat_init`) takes
the data directory's beat lock.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

from celery.signals import (
    beat_init,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from timemachine.bus import bus_of
from timemachine.errors import StorageError
from timemachine.logs import get_logger
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.orchestration.progress import Reporter
from timemachine.orchestration.sessions import requeue_lost
from timemachine.ports import JobQueue
from timemachine.processes import (
    BEAT_LOCK,
    WORKER_LOCK,
    AlreadyRunningError,
    InstanceLock,
    ParentWatchdog,
    die_with_parent,
)
from timemachine.settings import Settings, get_settings
from timemachine.store import Database, ReplaySessions, open_database
from timemachine.tasks.broker import broker_file
from timemachine.tasks.queue import CeleryQueue
from timemachine.tasks.submit import TASK_FOR_KIND, enqueue

log = get_logger(__name__)
SESSION_TASKS = frozenset(TASK_FOR_KIND.values())


class _State:
    """What this process holds: its locks, its watchdog and its sweeper."""

    worker_lock: InstanceLock | None = None
    beat_lock: InstanceLock | None = None
    watchdog: ParentWatchdog | None = None
    sweeper: Sweeper | None = None


def _data_dir(settings: Settings) -> Path:
    assert settings.data_dir is not None  # resolved by Settings
    return settings.data_dir


def _refuse(exc: AlreadyRunningError) -> None:
    sys.stderr.write(f"error: {exc}\n")
    sys.stderr.flush()
    os._exit(exc.exit_code)


@worker_init.connect
def _on_worker_init(**_: Any) -> None:
    settings = get_settings()
    lock = InstanceLock(_data_dir(settings) / WORKER_LOCK, "worker")
    try:
        lock.acquire()
    except AlreadyRunningError as exc:
        _refuse(exc)
    _State.worker_lock = lock
    _State.watchdog = ParentWatchdog.from_env()
    if not settings.celery_broker_url:
        db = open_database(settings.database_url)
        try:
            restored = restore_embedded_deliveries(broker_file(settings), db, settings)
        finally:
            db.dispose()
        if restored:
            log.warning("re-delivered the sessions of a worker that died", sessions=restored)


@worker_ready.connect
def _on_worker_ready(sender: Any, **_: Any) -> None:
    settings = get_settings()
    _State.sweeper = Sweeper(settings, CeleryQueue(sender.app))
    _State.sweeper.start()


@worker_shutdown.connect
def _on_worker_shutdown(**_: Any) -> None:
    if _State.sweeper is not None:  # no re-queueing while this worker's own runs wind down
        _State.sweeper.stop()


@worker_process_init.connect
def _on_pool_process(**_: Any) -> None:
    die_with_parent(signal.SIGKILL)
    if _State.worker_lock is not None:
        _State.worker_lock.release_inherited()


@beat_init.connect
def _on_beat_init(**_: Any) -> None:
    if _State.worker_lock is not None:  # the worker's embedded beat (`-B`), a forked child
        die_with_parent(signal.SIGKILL)
        _State.worker_lock.release_inherited()
    else:
        _State.watchdog = ParentWatchdog.from_env()
    lock = InstanceLock(_data_dir(get_settings()) / BEAT_LOCK, "beat")
    try:
        lock.acquire()
    except AlreadyRunningError as exc:
        _refuse(exc)
    _State.beat_lock = lock


def restore_embedded_deliveries(path: Path, db: Database, settings: Settings) -> list[str]:
    """Make the embedded broker deliver again what a dead worker had taken; the session ids.

    Only while holding the worker lock: every hidden message then belongs to a dead worker.
    A hidden message of a session still pending or running is shown again (marked redelivered)
    and a running session goes back to pending (its worker is gone); every other hidden message
    was acknowledged (the transport keeps those hidden forever) and is deleted."""
    if not path.exists():
        return []
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    restored: list[str] = []
    try:
        connection.execute("BEGIN IMMEDIATE")
        try:
            rows = connection.execute(
                "SELECT id, payload FROM kombu_message WHERE visible = 0"
            ).fetchall()
        except sqlite3.OperationalError:  # no table yet: nothing was ever queued
            connection.execute("ROLLBACK")
            return []
        for row_id, payload in rows:
            message = json.loads(payload)
            headers = message.get("headers") or {}
            session_id = str(headers.get("id", ""))
            if headers.get("task") in SESSION_TASKS and _back_to_pending(db, session_id, settings):
                message["redelivered"] = True
                connection.execute(
                    "UPDATE kombu_message SET visible = 1, payload = ? WHERE id = ?",
                    (json.dumps(message), row_id),
                )
                restored.append(session_id)
            else:
                connection.execute("DELETE FROM kombu_message WHERE id = ?", (row_id,))
        connection.execute("COMMIT")
    finally:
        connection.close()
    return restored


def _back_to_pending(db: Database, session_id: str, settings: Settings) -> bool:
    """Whether the session still needs a run (pending, or running under a dead worker, which is
    put back to pending or failed after too many runs)."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        record = sessions.get(session_id)
        if record is None or record.status.is_terminal:
            return False
        if record.status.value == "running":
            record = sessions.requeue(
                session_id, max_attempts=settings.session_max_attempts, force=True
            )
            return record is not None and record.status.value == "pending"
        return True


class Sweeper:
    """Re-queues sessions whose lease expired, every half lease, in a thread of the worker's
    main process (so it runs even while every pool process is busy)."""

    def __init__(self, settings: Settings, queue: JobQueue) -> None:
        self.settings = settings
        self.queue = queue
        self.interval = settings.session_lease_seconds / 2
        self.bus = bus_of(settings)
        self._db: Database | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="session-sweeper")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def sweep(self) -> list[str]:
        """One pass; the ids re-queued."""
        if self._db is None:
            self._db = open_database(self.settings.database_url)  # migrated once
        db, bus = self._db, self.bus
        try:

            def again(record: ReplaySessionRecord) -> None:
                reporter = Reporter(db, bus, record.id)
                reporter.publish(record)
                enqueue(self.queue, record, reporter)

            return requeue_lost(db, self.settings.session_max_attempts, again)
        finally:
            db.dispose()  # no pooled connection lingers for a pool process forked later

    def _run(self) -> None:
        while True:
            try:
                self.sweep()
            except (StorageError, OSError) as exc:
                log.warning("session sweep failed; retrying", error=str(exc))
            except Exception:
                log.exception("session sweep crashed; retrying")
            if self._stop.wait(self.interval):
                return
