"""Login delays: slow a password guesser down without locking the account's owner out.

Failures are counted per (username, client IP). After `free` failures, every further attempt
from that pair must wait `base * 2**k` seconds (k = failures beyond the free ones, minus one),
capped at `cap`; an attempt inside the wait is answered 429 without checking the password. A
success clears the pair. So a guesser is held at one attempt per `cap` seconds per address,
while the owner — from any other address — logs in as usual: nobody can lock an account by
failing on purpose. (Guessing from many addresses is bounded by the per-IP login bucket and by
the argon2 cost of each attempt.)

In-process, or shared through Redis (one Lua script on the server's clock) when `REDIS_URL` is
set; a Redis failure falls back to the in-process counters.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from timemachine.logs import get_logger

log = get_logger(__name__)
_MAX_LOCAL = 100_000


@dataclass(frozen=True)
class DelayPolicy:
    free: int = 5
    base: float = 1.0
    cap: float = 300.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` consecutive failures."""
        beyond = failures - self.free
        if beyond <= 0:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(beyond - 1, 64))

    @property
    def forget_after(self) -> float:
        """Seconds without a failure after which a pair's count is dropped."""
        return max(3600.0, 4 * self.cap)


class LoginDelays(Protocol):
    def wait(self, key: str) -> float:
        """Seconds before `key` may try again (0.0: now)."""
        ...

    def failed(self, key: str) -> float:
        """Count a failure; the wait it imposes."""
        ...

    def succeeded(self, key: str) -> None: ...


class LocalLoginDelays:
    def __init__(self, policy: DelayPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._pairs: dict[str, tuple[int, float, float]] = {}  # failures, until, last

    def wait(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            entry = self._pairs.get(key)
        return 0.0 if entry is None else max(0.0, entry[1] - now)

    def failed(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            failures, _, last = self._pairs.get(key, (0, now, now))
            if now - last > self.policy.forget_after:
                failures = 0
            failures += 1
            delay = self.policy.delay(failures)
            if len(self._pairs) >= _MAX_LOCAL:
                self._pairs.clear()  # bounded memory; an attacker gains a few free attempts
            self._pairs[key] = (failures, now + delay, now)
        return delay

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._pairs.pop(key, None)


_FAILED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local free, base = tonumber(ARGV[1]), tonumber(ARGV[2])
local cap, forget = tonumber(ARGV[3]), tonumber(ARGV[4])
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0') + 1
local delay = 0
if failures > free then
  delay = math.min(cap, base * 2 ^ math.min(failures - free - 1, 64))
end
redis.call('HSET', KEYS[1], 'failures', failures, 'until', tostring(now + delay))
redis.call('PEXPIRE', KEYS[1], math.ceil(forget * 1000))
return tostring(delay)
"""
_WAIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local till = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
return tostring(math.max(0, till - now))
"""


class RedisLoginDelays:
    def __init__(
        self, url: str, policy: DelayPolicy, *, prefix: str = "timemachine:login:"
    ) -> None:
        import redis

        self.policy = policy
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._failed = self._redis.register_script(_FAILED)
        self._wait = self._redis.register_script(_WAIT)
        self._prefix = prefix
        self._fallback = LocalLoginDelays(policy)

    def wait(self, key: str) -> float:
        import redis

        try:
            return _seconds(self._wait(keys=[self._prefix + key]))
        except redis.RedisError as exc:
            log.warning("login delays: redis unavailable, counting in-process", error=str(exc))
            return self._fallback.wait(key)

    def failed(self, key: str) -> float:
        import redis

        p = self.policy
        try:
            return _seconds(
                self._failed(
                    keys=[self._prefix + key], args=[p.free, p.base, p.cap, p.forget_after]
                )
            )
        except redis.RedisError as exc:
            log.warning("login delays: redis unavailable, counting in-process", error=str(exc))
            return self._fallback.failed(key)

    def succeeded(self, key: str) -> None:
        import redis

        try:
            self._redis.delete(self._prefix + key)
        except redis.RedisError as exc:
            log.warning("login delays: redis unavailable, counting in-process", error=str(exc))
        self._fallback.succeeded(key)


def _seconds(value: object) -> float:
    number = float(value.decode() if isinstance(value, bytes) else str(value))
    return number if math.isfinite(number) else 0.0


def login_delays(redis_url: str | None, policy: DelayPolicy) -> LoginDelays:
    return RedisLoginDelays(redis_url, policy) if redis_url else LocalLoginDelays(policy)
