"""What the monitor reports about itself: rates, lag per provider, lifecycle counts, backlog and
simulation latency (`Monitor.stats()`, the CLI's live view, `GET /api/v1/monitor/stats`)."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from pydantic import BaseModel, Field

RATE_WINDOW = 10


class RateMeter:
    """Events per second over the last `window` whole seconds."""

    def __init__(self, window: int = RATE_WINDOW) -> None:
        self.window = window
        self._seconds: deque[list[int]] = deque()

    def tick(self, now: float) -> None:
        second = int(now)
        if self._seconds and self._seconds[-1][0] == second:
            self._seconds[-1][1] += 1
        else:
            self._seconds.append([second, 1])
            while self._seconds and self._seconds[0][0] <= second - self.window:
                self._seconds.popleft()

    def per_second(self, now: float | None = None) -> float:
        current = int(time.time() if now is None else now)
        counted = sum(n for second, n in self._seconds if current - self.window <= second < current)
        return counted / self.window


class ProviderStats(BaseModel):
    delivered: int
    first: int = Field(description="Transactions this provider showed before any other.")
    malformed: int
    unresolved: int = Field(description="Hashes whose transaction could not be fetched.")
    silent_for: float | None = Field(description="Seconds since its last notification.")
    reconnects: int


class BacklogStats(BaseModel):
    size: int
    capacity: int
    shed: int
    tightened_to: int | None = Field(
        description="Lowest priority a full backlog still accepts (None: not under load)."
    )


class SimulationStats(BaseModel):
    filter: str
    simulated: int
    failed: int
    timed_out: int
    skipped: int
    latency_ms_p50: float | None
    latency_ms_p99: float | None
    fork_resets: int
    backlog: BacklogStats


class MonitorStats(BaseModel):
    chain: str
    head: int | None
    ingested_per_second: float
    pending: int
    statuses: dict[str, int]
    malformed: int
    providers: dict[str, ProviderStats]
    simulation: SimulationStats | None
    mev_bundles: int
    notable: list[dict[str, Any]]
