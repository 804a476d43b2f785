"""The Celery app, configured from Settings.

Broker: `CELERY_BROKER_URL` (Redis or RabbitMQ); unset, the embedded broker — kombu's SQLAlchemy
transport on a SQLite file in the data directory — so the default still runs tasks in a real
worker process with no external server. Results: `CELERY_RESULT_BACKEND`, else the store's
database. Delivery is at-least-once (`acks_late`, rejected back to the queue when the worker
process dies); the tasks are idempotent.
"""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab
from kombu import Queue

from timemachine.settings import Settings, get_settings
from timemachine.tasks.broker import broker_url
from timemachine.tasks.queue import CeleryQueue

QUEUES = ("replay", "analysis", "cleanup", "alerts")


def result_backend(settings: Settings) -> str:
    if settings.celery_result_backend:
        return settings.celery_result_backend
    return "db+" + settings.database_url


def create_celery(settings: Settings | None = None) -> Celery:
    """A Celery app with the spec's queues, routes, reliability settings and beat schedule."""
    settings = settings or get_settings()
    assert settings.data_dir is not None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery(
        "timemachine",
        broker=broker_url(settings),
        backend=result_backend(settings),
        include=[
            "timemachine.tasks.replay_tasks",
            "timemachine.tasks.analysis_tasks",
            "timemachine.tasks.cleanup_tasks",
            "timemachine.tasks.mev_tasks",
            "timemachine.tasks.archive_tasks",
            "timemachine.tasks.alerts_tasks",
            "timemachine.tasks.events_tasks",
        ],
    )
    app.conf.update(
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="replay",
        task_routes={
            **{f"tasks.{name}_tasks.*": {"queue": name} for name in QUEUES},
            "tasks.mev_tasks.*": {"queue": "analysis"},
            "tasks.archive_tasks.*": {"queue": "cleanup"},
            "tasks.events_tasks.*": {"queue": "cleanup"},
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        task_track_started=True,
        task_send_sent_event=True,
        worker_send_task_events=True,
        result_extended=True,
        broker_connection_retry_on_startup=True,
        # Redis only: the embedded broker hands its options to SQLAlchemy's create_engine.
        broker_transport_options=(
            {"visibility_timeout": settings.broker_visibility_timeout}
            if broker_url(settings).startswith(("redis://", "rediss://"))
            else {}
        ),
        beat_schedule={
            "cleanup-old-sessions": {
                "task": "tasks.cleanup_tasks.cleanup_old_sessions",
                "schedule": crontab(hour=2, minute=0),
            },
            "cleanup-expired-forks": {
                "task": "tasks.cleanup_tasks.cleanup_expired_forks",
                "schedule": crontab(minute=0),
            },
            "cleanup-temp-files": {
                "task": "tasks.cleanup_tasks.cleanup_temp_files",
                "schedule": crontab(minute=30),
            },
            "archive-continuous": {
                "task": "tasks.archive_tasks.archive_continuous",
                "schedule": settings.archive_interval_hours * 3600,
            },
            "archive-retention": {
                "task": "tasks.archive_tasks.archive_retention",
                "schedule": crontab(hour=3, minute=15),
            },
            "prune-processed-events": {
                "task": "tasks.events_tasks.prune_processed_events",
                "schedule": crontab(minute=45),
            },
            "alerts-sweep-deliveries": {
                "task": "tasks.alerts_tasks.sweep_deliveries",
                "schedule": 30.0,
            },
        },
        timezone="UTC",
    )
    return app


def job_queue(settings: Settings) -> CeleryQueue:
    """The service's job queue (`ports.JobQueue`): Celery over the configured or the embedded
    broker. Chosen here, in the Celery shell, so nothing below the shells imports Celery."""
    return CeleryQueue(create_celery(settings))


celery_app = create_celery()

# Signal handlers: worker lock, lost-delivery recovery, lease sweeper, children die with parent.
import timemachine.tasks.reliability  # noqa: E402, F401
