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


@celery_app.task(name="tasks.replay_tasks.replay_exploit", bind=True)
def replay_exploit(self: Any, session_id: str) -> str:
    """Replay a catalog exploit's attack transaction(s) (and analyse them)."""
    return execute_session(session_id, self.request.id)


@celery_app.task(name="tasks.replay_tasks.replay_transactions", bind=True)
def replay_transactions(self: Any, session_id: str) -> str:
    """Replay a list of transactions in order (and analyse them)."""
    return execute_session(session_id, self.request.id)


@celery_app.task(name="tasks.replay_tasks.replay_whatif", bind=True)
def replay_whatif(self: Any, session_id: str) -> str:
    """Replay a transaction with modifications (and compare it with the unmodified replay)."""
    return execute_session(session_id, self.request.id)


@celery_app.task(name="tasks.replay_tasks.verify_fix", bind=True)
def verify_fix(self: Any, session_id: str) -> str:
    """Replay an exploit against its original and its patched code: is it stopped?"""
    return execute_session(session_id, self.request.id)
