"""Bus housekeeping (queue `cleanup`, run by beat): the processed event ids of the exactly-once
consumers are forgotten once the stream no longer holds their events."""

from __future__ import annotations

from timemachine.settings import get_settings
from timemachine.store.processed_events import prune_expired
from timemachine.tasks.app import celery_app
from timemachine.tasks.context import database


@celery_app.task(name="tasks.events_tasks.prune_processed_events")
def prune_processed_events() -> int:
    """Forget processed ids older than EVENT_BUS_MAX_AGE; how many."""
    return prune_expired(database(), get_settings().event_bus_max_age)
