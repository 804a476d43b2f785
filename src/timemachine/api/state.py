"""What one API instance holds for its lifetime: settings, database, job queue, event bus,
rate limiter."""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.ports import EventBus, JobQueue
from timemachine.security.ratelimit import LocalRateLimiter, RateLimiter
from timemachine.settings import Settings
from timemachine.store import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    queue: JobQueue
    bus: EventBus
    limiter: RateLimiter = field(default_factory=LocalRateLimiter)
