"""Queue work for a stored session: the one place that maps session kinds to task names."""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from timemachine.errors import BrokerUnavailableError
from timemachine.models.sessions import ReplaySessionRecord, SessionKind
from timemachine.service.progress import Reporter

TASK_FOR_KIND = {
    SessionKind.EXPLOIT: "tasks.replay_tasks.replay_exploit",
    SessionKind.TRANSACTIONS: "tasks.replay_tasks.replay_transactions",
    SessionKind.ANALYSIS: "tasks.analysis_tasks.analyze_exploit",
    SessionKind.WHATIF: "tasks.replay_tasks.replay_whatif",
    SessionKind.VERIFY_FIX: "tasks.replay_tasks.verify_fix",
}


def enqueue(app: Celery, record: ReplaySessionRecord, reporter: Reporter) -> None:
    """Send the session's task (task id = session id, so a duplicate send is harmless)."""
    options: dict[str, Any] = {"task_id": record.id, "retry": True}
    options["retry_policy"] = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
    try:
        app.send_task(TASK_FOR_KIND[record.kind], args=[record.id], **options)
    except OperationalError as exc:
        reporter.fail(f"could not queue the session: broker unavailable ({exc})")
        raise BrokerUnavailableError(
            "the task broker is unavailable; the session was marked failed, try again later"
        ) from exc
