"""Replay tasks (queue `replay`): run a stored session, idempotently."""

from __future__ import annotations

from typing import Any

from timemachine.logs import get_logger
from timemachine.orchestration.progress import Reporter
from timemachine.orchestration.sessions import run_session
from timemachine.tasks.app import celery_app
from timemachine.tasks.context import bus, database, runtime

log = get_logger(__name__)


def execute_session(session_id: str, task_id: str | None) -> str:
    """Run the session; an unexpected error still ends it `failed` (never stuck running)."""
    reporter = Reporter(database(), bus(), session_id)
    try:
        run_session(database(), runtime(), reporter, task_id=task_id)
    except Exception as exc:
        log.exception("session crashed", session_id=session_id)
        reporter.fail(f"internal error: {type(exc).__name__}: {exc}")
        raise
    return session_id


def session_task(name: str, doc: str) -> Any:
    """The Celery task `name` that runs the stored session it is given (`run_session` reads the
    session's kind; one task name per kind routes it to its queue)."""

    def run(self: Any, session_id: str) -> str:
        return execute_session(session_id, self.request.id)

    run.__doc__ = doc
    return celery_app.task(name=name, bind=True)(run)


replay_exploit = session_task(
    "tasks.replay_tasks.replay_exploit",
    "Replay a catalog exploit's attack transaction(s) (and analyse them).",
)
replay_transactions = session_task(
    "tasks.replay_tasks.replay_transactions",
    "Replay a list of transactions in order (and analyse them).",
)
replay_whatif = session_task(
    "tasks.replay_tasks.replay_whatif",
    "Replay a transaction with modifications (and compare it with the unmodified replay).",
)
verify_fix = session_task(
    "tasks.replay_tasks.verify_fix",
    "Replay an exploit against its original and its patched code: is it stopped?",
)
