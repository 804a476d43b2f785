"""Health of one provider: a score from latency, errors and head lag; benching and rate limits.

The score ranks healthy providers (highest first):

    score = weight x 1000 / (latency_ewma_ms + 10) x 0.5^consecutive_errors x 1 / (1 + lag)

so a provider twice as fast is preferred twice as much, each consecutive failure halves it, and a
provider behind the best head loses in proportion to its lag. A provider that fails at the
transport level (timeout, refused, 5xx, garbage) is *benched*: skipped until a probe succeeds. The
bench grows exponentially (capped) while probes keep failing. A 429 is not a health fault: the
provider only cools down for the time its Retry-After asked.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

EWMA_ALPHA = 0.3


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Capped exponential backoff with full jitter: uniform in [0, min(cap, base x 2^attempt)]."""
    return random.uniform(0.0, min(cap, base * 2.0**attempt))


class TokenBucket:
    """`rate` requests per second with bursts of `burst`; `rate` 0 means unlimited."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def delay(self) -> float:
        """Take one token; the seconds to wait before using it (0 when one was available)."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass
class ProviderHealth:
    """Counters and state of one provider (everything `chain status` and the metrics show)."""

    weight: int = 1
    latency_ms: float | None = None
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    consecutive_errors: int = 0
    failovers: int = 0
    head: int | None = None
    lag: int = 0
    benched_until: float | None = None
    bench_reason: str | None = None
    benches: int = 0
    cooldown_until: float = 0.0
    last_error: str | None = None

    @property
    def benched(self) -> bool:
        return self.benched_until is not None

    def cooling(self, now: float | None = None) -> bool:
        return (now if now is not None else time.monotonic()) < self.cooldown_until

    def score(self) -> float:
        latency = self.latency_ms if self.latency_ms is not None else 100.0
        return (
            self.weight * 1000.0 / (latency + 10.0) * 0.5**self.consecutive_errors / (1 + self.lag)
        )

    def success(self, seconds: float) -> None:
        self.requests += 1
        millis = seconds * 1000.0
        self.latency_ms = (
            millis
            if self.latency_ms is None
            else EWMA_ALPHA * millis + (1 - EWMA_ALPHA) * self.latency_ms
        )
        self.consecutive_errors = 0

    def failure(self, kind: str, message: str) -> None:
        self.requests += 1
        self.fault(kind, message)

    def fault(self, kind: str, message: str) -> None:
        """A fault found in an answer already counted (e.g. a minority-fork block)."""
        self.errors[kind] += 1
        self.consecutive_errors += 1
        self.last_error = message

    def bench(self, reason: str, base: float, cap: float) -> float:
        """Bench (or keep benched) for base x 2^(benches) seconds, capped; returns the duration."""
        duration = min(cap, base * 2.0**self.benches)
        self.benches += 1
        self.benched_until = time.monotonic() + duration
        self.bench_reason = reason
        return duration

    def unbench(self) -> None:
        self.benched_until = None
        self.bench_reason = None
        self.benches = 0
        self.consecutive_errors = 0


class Limits:
    """Per-provider concurrency (a semaphore) and request rate (a token bucket)."""

    def __init__(self, concurrency: int, rate: float, burst: int) -> None:
        self.semaphore = asyncio.Semaphore(max(concurrency, 1))
        self.bucket = TokenBucket(rate, burst)

    async def __aenter__(self) -> None:
        await self.semaphore.acquire()
        wait = self.bucket.delay()
        if wait > 0:
            await asyncio.sleep(wait)

    async def __aexit__(self, *exc: object) -> None:
        self.semaphore.release()
