"""Analysis tasks (queue `analysis`)."""

from __future__ import annotations

from timemachine.tasks.replay_tasks import session_task

analyze_exploit = session_task(
    "tasks.analysis_tasks.analyze_exploit",
    "Replay a catalog exploit and store its analysis report at the requested depth.",
)
