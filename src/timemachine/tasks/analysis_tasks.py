"""Analysis tasks (queue `analysis`)."""

from __future__ import annotations

from typing import Any

from timemachine.tasks.app import celery_app
from timemachine.tasks.replay_tasks import execute_session


@celery_app.task(name="tasks.analysis_tasks.analyze_exploit", bind=True)
def analyze_exploit(self: Any, session_id: str) -> str:
    """Replay a catalog exploit and store its analysis report at the requested depth."""
    return execute_session(session_id, self.request.id)
