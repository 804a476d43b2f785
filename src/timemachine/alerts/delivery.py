"""Delivery: each (alert, channel) is a queued job in the store, tried until delivered, with
exponential backoff and full jitter between attempts (a 429/503 `Retry-After` is honoured
instead), at most `max_per_hour` per channel, and after `max_retries` attempts a dead letter.

Each channel is drained on its own (a loop in the monitor, or a worker task per channel:
`deliver_queued`), so a channel that is down only delays its own alerts; within a channel
alerts go out in the order they were raised (the oldest queued one first), so each rule's
alerts arrive in order. A delivery is leased before it is sent (`AlertStore.claim`): two
workers never send it at once, and one killed mid-send holds it only until its lease ends;
then it is sent again. The alert id is the idempotency key a receiver sees on every retry and
redelivery, and a delivery marked delivered is never sent again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from timemachine.alerts.channels import ChannelSender, Outcome
from timemachine.alerts.clock import Clock, SystemClock
from timemachine.alerts.model import Alert
from timemachine.logs import get_logger
from timemachine.rules.model import Channel
from timemachine.security.outbound import OutboundPolicy
from timemachine.store import Database
from timemachine.store.alerts import AlertStore, DeliveryRecord, DeliveryStatus

log = get_logger(__name__)
HOUR = 3600.0


class DeliverySettings(BaseSettings):
    """Delivery limits from the environment (MAX_NOTIFICATIONS_PER_HOUR, MAX_RETRIES, ...)."""

    model_config = SettingsConfigDict(extra="ignore")

    max_per_hour: int = Field(
        100, ge=1, validation_alias=AliasChoices("MAX_NOTIFICATIONS_PER_HOUR", "max_per_hour")
    )
    max_retries: int = Field(8, ge=1, validation_alias=AliasChoices("MAX_RETRIES", "max_retries"))
    backoff_base: float = Field(
        2.0, gt=0, validation_alias=AliasChoices("ALERT_BACKOFF_BASE", "backoff_base")
    )
    backoff_cap: float = Field(
        600.0, gt=0, validation_alias=AliasChoices("ALERT_BACKOFF_CAP", "backoff_cap")
    )
    lease: float = Field(60.0, gt=0, validation_alias=AliasChoices("ALERT_DELIVERY_LEASE", "lease"))
    """Seconds a worker holds the delivery it is sending (longer than one send's timeout)."""


@dataclass
class Deliveries:
    db: Database
    channels: Mapping[str, Channel]
    sender: ChannelSender
    clock: Clock
    settings: DeliverySettings
    rng: random.Random

    def backoff(self, attempts: int) -> float:
        """Full jitter: uniform in [base, min(cap, base * 2**attempts)]."""
        ceiling = min(self.settings.backoff_cap, self.settings.backoff_base * 2**attempts)
        return self.rng.uniform(
            self.settings.backoff_base, max(ceiling, self.settings.backoff_base)
        )

    def _limit(self, name: str) -> int:
        return self.channels[name].max_per_hour or self.settings.max_per_hour

    async def step(self, name: str) -> float | None:
        """Try the channel's oldest queued delivery if it is due. Seconds until the channel
        should be looked at again (0: at once), None when its queue is empty."""
        with self.db.session() as s:
            store = AlertStore(s)
            delivery = store.next_queued(name)
            if delivery is None:
                return None
            now = self.clock.now()
            if delivery.next_attempt_at > now:
                return delivery.next_attempt_at - now
            if delivery.lease_until is not None and delivery.lease_until > now:
                return delivery.lease_until - now  # another worker is sending it
            oldest = store.oldest_delivered_since(name, now - HOUR, self._limit(name))
            if oldest is not None:  # the hour's quota is used: wait until the oldest ages out
                store.record_attempt(
                    delivery.alert_id, name, at=now, outcome="rate_limited", status="queued",
                    next_attempt_at=oldest + HOUR, counts=False,
                    error=f"{self._limit(name)} notifications per hour reached",
                )  # fmt: skip
                return oldest + HOUR - now
            until = now + self.settings.lease
            if not store.claim(delivery.alert_id, name, now=now, until=until):
                return 0.0  # claimed meanwhile by another worker: look again
            alert = Alert.model_validate(store.get(delivery.alert_id).payload)
        outcome = await self.sender.send(alert, self.channels[name])
        self._record(name, delivery, outcome)
        return 0.0

    def _record(self, name: str, delivery: DeliveryRecord, outcome: Outcome) -> None:
        now = self.clock.now()
        attempts = delivery.attempts + 1
        status: DeliveryStatus
        if outcome.delivered:
            result, status, next_at = "delivered", "delivered", None
        elif outcome.retry and attempts < self.settings.max_retries:
            wait = outcome.retry_after
            next_at = now + (wait if wait is not None else self.backoff(attempts - 1))
            result, status = "retry", "queued"
        else:
            result, status, next_at = "failed", "dead", None
            log.warning("alert dead-lettered", alert=delivery.alert_id, channel=name,
                        error=outcome.error, attempts=attempts)  # fmt: skip
        with self.db.session() as s:
            AlertStore(s).record_attempt(
                delivery.alert_id, name, at=now, outcome=result, status=status,
                next_attempt_at=next_at, status_code=outcome.status, error=outcome.error,
            )  # fmt: skip

    async def deliver_due(self, name: str) -> float | None:
        """Send the channel's due deliveries in order; seconds until it should be looked at
        again (a backoff, the hour's quota, another worker's lease), None once it is empty."""
        while (wait := await self.step(name)) == 0:
            pass
        return wait

    async def drain_channel(self, name: str) -> None:
        """Deliver the channel's queue until it is empty (sleeping through backoffs)."""
        while (wait := await self.step(name)) is not None:
            if wait > 0:
                await self.clock.sleep(wait)

    async def drain(self) -> None:
        """Deliver every channel's queue, each channel on its own (one down blocks no other)."""
        with self.db.session() as s:
            names = [n for n in AlertStore(s).channels_with_queued() if n in self.channels]
        await asyncio.gather(*(self.drain_channel(name) for name in names))


async def deliver_queued(
    db: Database,
    channels: Mapping[str, Channel],
    name: str,
    *,
    policy: OutboundPolicy,
    settings: DeliverySettings | None = None,
) -> float | None:
    """One worker's turn at channel `name` (a queued job): `Deliveries.deliver_due`."""
    sender = ChannelSender(policy)
    try:
        deliveries = Deliveries(
            db, channels, sender, SystemClock(), settings or DeliverySettings(), random.Random()
        )
        return await deliveries.deliver_due(name)
    finally:
        await sender.aclose()
