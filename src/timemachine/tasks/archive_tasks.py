"""Archive tasks (queue `cleanup`), run by beat: continuous archival every
ARCHIVE_INTERVAL_HOURS, and retention once a day. Both are idempotent: archival resumes where
the archive's files end, retention re-plans from the files."""

from __future__ import annotations

import asyncio
from typing import Any

from timemachine.orchestration import archive_jobs
from timemachine.settings import get_settings
from timemachine.tasks.app import celery_app
from timemachine.tasks.context import database


@celery_app.task(name="tasks.archive_tasks.archive_continuous")
def archive_continuous() -> list[dict[str, Any]]:
    """Archive every network of ARCHIVE_CHAINS up to its finality."""
    runs = asyncio.run(archive_jobs.archive_all(get_settings(), database()))
    return [
        {
            "network": run.network,
            "final_block": run.final_block,
            "written": [written.file for written in run.written],
            "discarded": run.discarded,
        }
        for run in runs
    ]


@celery_app.task(name="tasks.archive_tasks.archive_retention")
def archive_retention(dry_run: bool = False) -> list[str]:
    """Apply ARCHIVE_RETENTION to the archive (with `dry_run`: say what would go)."""
    actions = archive_jobs.retention(get_settings(), dry_run=dry_run, db=database())
    return [action.describe() for action in actions]
