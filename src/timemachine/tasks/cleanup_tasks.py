"""Cleanup tasks (queue `cleanup`), run by beat and on demand through the API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from timemachine.settings import get_settings
from timemachine.store import ReplaySessions
from timemachine.tasks.app import celery_app
from timemachine.tasks.context import database, runtime

STALE_SECONDS = 900.0
"""A running session silent this long, with no live lease, is failed: no worker has run for that
long (while one runs, its sweeper re-queues such sessions within a lease;
`orchestration.leases`)."""


def temp_dir() -> Path:
    """Scratch files of the service (exported reports and capsules)."""
    settings = get_settings()
    assert settings.data_dir is not None
    return settings.data_dir / "tmp"


@celery_app.task(name="tasks.cleanup_tasks.cleanup_old_sessions")
def cleanup_old_sessions(age_hours: float = 24 * 7) -> dict[str, int]:
    """Delete finished sessions older than `age_hours`; fail running ones whose worker died."""
    with database().session() as s:
        sessions = ReplaySessions(s)
        deleted = sessions.delete_finished_before(age_hours)
        stale = sessions.fail_stale(STALE_SECONDS)
    return {"deleted": deleted, "failed_stale": stale}


@celery_app.task(name="tasks.cleanup_tasks.cleanup_expired_forks")
def cleanup_expired_forks(expiry_hours: float | None = None) -> dict[str, Any]:
    """Stop this worker's forks unused for `expiry_hours` (default: the fork TTL)."""
    ttl = None if expiry_hours is None else expiry_hours * 3600
    stopped = runtime().run(runtime().reap_forks(ttl))
    return {"stopped": stopped, "live": runtime().live_forks()}


@celery_app.task(name="tasks.cleanup_tasks.cleanup_temp_files")
def cleanup_temp_files(age_hours: float = 24) -> dict[str, int]:
    """Delete scratch files older than `age_hours`."""
    cutoff = time.time() - age_hours * 3600
    removed = 0
    folder = temp_dir()
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
    return {"removed": removed}
