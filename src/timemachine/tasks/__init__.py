"""Celery: the app (`tasks.app`), replay/analysis/cleanup tasks, the beat schedule.

Thin: every task calls the orchestration layer (`timemachine.orchestration`). Task names keep
the original spec's routes: `tasks.replay_tasks.*` → queue `replay`, `tasks.analysis_tasks.*` →
`analysis`, `tasks.cleanup_tasks.*` → `cleanup`.
"""
