"""Queue work for a stored session: the one place that maps session kinds to task names."""

from __future__ import annotations

from timemachine.errors import BrokerUnavailableError
from timemachine.models.sessions import ReplaySessionRecord, SessionKind
from timemachine.orchestration.progress import Reporter
from timemachine.ports import JobQueue

__all__ = ["TASK_FOR_KIND", "BrokerUnavailableError", "enqueue"]

TASK_FOR_KIND = {
    SessionKind.EXPLOIT: "tasks.replay_tasks.replay_exploit",
    SessionKind.TRANSACTIONS: "tasks.replay_tasks.replay_transactions",
    SessionKind.ANALYSIS: "tasks.analysis_tasks.analyze_exploit",
    SessionKind.WHATIF: "tasks.replay_tasks.replay_whatif",
    SessionKind.VERIFY_FIX: "tasks.replay_tasks.verify_fix",
}


def enqueue(queue: JobQueue, record: ReplaySessionRecord, reporter: Reporter) -> None:
    """Queue the session's task (job id = session id, so a duplicate send is harmless)."""
    try:
        queue.enqueue(TASK_FOR_KIND[record.kind], [record.id], job_id=record.id, retry=True)
    except BrokerUnavailableError as exc:
        reporter.fail(f"could not queue the session: broker unavailable ({exc})")
        raise BrokerUnavailableError(
            "the task broker is unavailable; the session was marked failed, try again later"
        ) from exc
