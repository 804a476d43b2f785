"""Token-bucket rate limits: in-process, or shared through Redis when `REDIS_URL` is set.

A bucket holds up to `burst` tokens and refills at `rate` tokens per second; each request takes
one. An empty bucket answers how long until a token is back (the HTTP `Retry-After`).

The Redis limiter runs the whole bucket update as one Lua script on the server's clock (`TIME`),
so every API instance shares each bucket exactly, whatever their clocks. When Redis fails, it
falls back to the in-process buckets (logged) rather than refusing all traffic. `hit_async` is
the same for the event loop (the API charges every request there: no thread hand-off).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

from timemachine.logs import get_logger

log = get_logger(__name__)
_MAX_LOCAL_BUCKETS = 100_000


class RateLimiter(Protocol):
    def hit(self, key: str, *, rate: float, burst: int) -> float:
        """Take one token from `key`'s bucket: 0.0 when allowed, else seconds until allowed."""
        ...

    async def hit_async(self, key: str, *, rate: float, burst: int) -> float:
        """`hit`, awaited on the event loop."""
        ...


class LocalRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, rate: float, burst: int) -> float:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now)
                return 0.0
            self._store(key, tokens, now)
            return (1.0 - tokens) / rate

    async def hit_async(self, key: str, *, rate: float, burst: int) -> float:
        return self.hit(key, rate=rate, burst=burst)  # memory only: nothing to wait for

    def _store(self, key: str, tokens: float, now: float) -> None:
        if key not in self._buckets and len(self._buckets) >= _MAX_LOCAL_BUCKETS:
            # Forget the oldest half (dicts keep insertion order); they were mostly refilled.
            for stale in list(self._buckets)[: _MAX_LOCAL_BUCKETS // 2]:
                del self._buckets[stale]
        self._buckets[key] = (tokens, now)


_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    def __init__(self, url: str, *, prefix: str = "timemachine:ratelimit:") -> None:
        import redis
        import redis.asyncio as aioredis

        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._script = self._redis.register_script(_SCRIPT)
        self._async = aioredis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._async_script = self._async.register_script(_SCRIPT)
        self._prefix = prefix
        self._fallback = LocalRateLimiter()

    def hit(self, key: str, *, rate: float, burst: int) -> float:
        import redis

        try:
            wait = self._script(keys=[self._prefix + key], args=[rate, burst])
        except redis.RedisError as exc:
            log.warning("rate limiter: redis unavailable, limiting in-process", error=str(exc))
            return self._fallback.hit(key, rate=rate, burst=burst)
        return _seconds(wait)

    async def hit_async(self, key: str, *, rate: float, burst: int) -> float:
        import redis

        try:
            wait = await self._async_script(keys=[self._prefix + key], args=[rate, burst])
        except (redis.RedisError, OSError) as exc:
            log.warning("rate limiter: redis unavailable, limiting in-process", error=str(exc))
            return self._fallback.hit(key, rate=rate, burst=burst)
        return _seconds(wait)

    def close(self) -> None:
        self._redis.close()


def _seconds(wait: object) -> float:
    value = float(wait.decode() if isinstance(wait, bytes) else str(wait))
    return value if math.isfinite(value) else 0.0


def rate_limiter(redis_url: str | None) -> LocalRateLimiter | RedisRateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else LocalRateLimiter()
