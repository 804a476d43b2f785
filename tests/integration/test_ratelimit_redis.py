"""The Redis token bucket is shared between API instances (a real Redis on 127.0.0.1:6379;
outside CI an unreachable server skips with the reason, in CI it fails)."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from tests.conftest import IN_CI
from timemachine.security.ratelimit import RedisRateLimiter

pytestmark = pytest.mark.integration
REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_up() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            pass
    except OSError as error:
        if IN_CI:
            pytest.fail(f"Redis is not reachable on 127.0.0.1:6379 ({error}); required in CI")
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({error})")


@pytest.mark.usefixtures("redis_up")
def test_redis_bucket_is_shared_between_limiters() -> None:
    key = f"test:{uuid.uuid4()}"
    first, second = RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)
    try:
        assert first.hit(key, rate=0.1, burst=2) == 0.0
        assert second.hit(key, rate=0.1, burst=2) == 0.0  # another API instance, same bucket
        wait = first.hit(key, rate=0.1, burst=2)
        assert 9.0 < wait <= 10.0
    finally:
        first.close()
        second.close()


@pytest.mark.usefixtures("redis_up")
def test_the_event_loops_hits_share_the_bucket_of_the_blocking_ones() -> None:
    """`hit_async` (every API request) and `hit` (the login route) charge one bucket."""
    key = f"test:{uuid.uuid4()}"
    limiter = RedisRateLimiter(REDIS_URL)

    async def charged() -> list[float]:
        return [await limiter.hit_async(key, rate=0.1, burst=2) for _ in range(2)]

    try:
        assert asyncio.run(charged()) == [0.0, 0.0]
        assert 9.0 < limiter.hit(key, rate=0.1, burst=2) <= 10.0
    finally:
        limiter.close()
