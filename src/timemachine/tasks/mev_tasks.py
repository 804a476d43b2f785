"""MEV tasks (queue `analysis`): inspect one batch of a range inspection job."""

from __future__ import annotations

from typing import Any

from timemachine.orchestration.mev_jobs import run_batch
from timemachine.tasks.app import celery_app
from timemachine.tasks.context import bus, database, runtime


@celery_app.task(name="tasks.mev_tasks.inspect_batch", bind=True)
def inspect_batch(self: Any, job_id: str, index: int) -> str:
    """Inspect batch `index` of MEV job `job_id` (idempotent: a redelivery replaces it)."""
    del self
    run_batch(database(), runtime(), bus(), job_id, index)
    return f"{job_id}-{index}"
