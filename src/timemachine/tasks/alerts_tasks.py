"""Alert delivery as queued jobs (queue `alerts`): `deliver_channel(channel)` sends a channel's
due deliveries in order and, when one must wait (a backoff, a `Retry-After`, the hour's quota),
enqueues itself again for then; nothing sleeps in a worker.

The store's delivery rows are the queue of record and the task only a wake-up, so a lost task
loses nothing: the beat's `sweep_deliveries` (every `SWEEP_SECONDS`) and every worker start
enqueue a turn for each channel with queued deliveries. A worker killed mid-send leaves its
lease on the delivery: a starting worker on the embedded broker (the only worker of its data
directory, by its lock) ends those leases at once; elsewhere they end with the lease
(ALERT_DELIVERY_LEASE). The receiver sees the same `Idempotency-Key` (the alert id) again.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from celery.signals import worker_ready

from timemachine.alerts.channels import check_channel
from timemachine.alerts.delivery import deliver_queued
from timemachine.logs import get_logger
from timemachine.rules.errors import RuleError
from timemachine.rules.stored import RuleSources
from timemachine.security.outbound import OutboundPolicy
from timemachine.security.vault import Vault
from timemachine.settings import get_settings
from timemachine.store import open_database
from timemachine.store.alerts import AlertStore
from timemachine.tasks.app import celery_app
from timemachine.tasks.context import database

log = get_logger(__name__)
DELIVER = "tasks.alerts_tasks.deliver_channel"
SWEEP_SECONDS = 30.0


def enqueue_delivery(channel: str, countdown: float | None = None) -> None:
    """A turn of the delivery workers at `channel` (from the monitor: `dispatch`)."""
    celery_app.send_task(DELIVER, args=[channel], countdown=countdown)


def _sources() -> RuleSources:
    settings = get_settings()
    return RuleSources(settings.alert_rules_file, database(), vault=Vault.from_settings(settings))


@celery_app.task(name=DELIVER)
def deliver_channel(channel: str) -> dict[str, Any]:
    """Send `channel`'s due deliveries, oldest first; enqueue the next turn if one must wait."""
    settings = get_settings()
    try:
        channels = _sources().load().channels
    except RuleError as error:  # the rules do not load: try again later, lose nothing
        log.warning("alert rules not loaded; delivery postponed", error=error.message)
        enqueue_delivery(channel, countdown=SWEEP_SECONDS)
        return {"channel": channel, "postponed": SWEEP_SECONDS}
    if channel not in channels:
        log.warning("alerts queued on a channel no rule defines", channel=channel)
        return {"channel": channel, "unknown": True}
    policy = OutboundPolicy.from_settings(settings)
    check_channel(channel, channels[channel], policy)
    wait = asyncio.run(deliver_queued(database(), channels, channel, policy=policy))
    if wait is not None:
        enqueue_delivery(channel, countdown=wait)
    return {"channel": channel, "next_in": wait}


@celery_app.task(name="tasks.alerts_tasks.sweep_deliveries")
def sweep_deliveries() -> list[str]:
    """A turn for every channel with a due delivery no worker holds (whatever happened to the
    tasks that should have sent it)."""
    with database().session() as s:
        channels = AlertStore(s).channels_due(time.time())
    for channel in channels:
        enqueue_delivery(channel)
    return channels


@worker_ready.connect
def _resume_deliveries(sender: Any, **_: Any) -> None:
    """At worker start (main process, before any task): end the leases of a dead embedded
    worker, then a sweep."""
    settings = get_settings()
    if not settings.celery_broker_url:
        db = open_database(settings.database_url)
        try:
            with db.session() as s:
                released = AlertStore(s).release_leases()
        finally:
            db.dispose()  # no pooled connection lingers for a pool process forked later
        if released:
            log.warning("deliveries of a worker that died are sent again", deliveries=released)
    sweep_deliveries.delay()
