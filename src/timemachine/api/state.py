"""What one API instance holds for its lifetime: settings, database, Celery app, event bus,
rate limiter."""

from __future__ import annotations

from dataclasses import dataclass, field

from celery import Celery

from timemachine.bus import EventBus
from timemachine.security.ratelimit import LocalRateLimiter, RateLimiter
from timemachine.settings import Settings
from timemachine.store import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    celery: Celery
    bus: EventBus
    limiter: RateLimiter = field(default_factory=LocalRateLimiter)
