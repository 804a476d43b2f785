"""The event bus: in-process fan-out and Redis pub/sub against the machine's real Redis."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator

import pytest

from timemachine.bus import EventBus, LocalBus, event_bus, session_channel
from timemachine.bus.redis_pubsub import RedisBus

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
async def redis_bus() -> AsyncIterator[RedisBus]:
    if not _reachable("127.0.0.1", 6379):
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is not reachable on 127.0.0.1:6379 (required in CI)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    bus = RedisBus(REDIS_URL)
    yield bus
    await bus.aclose()


async def _first(bus: EventBus, channel: str, count: int) -> list[dict[str, object]]:
    received: list[dict[str, object]] = []
    async for event in bus.subscribe(channel):
        received.append(event)
        if len(received) == count:
            return received
    return received


async def _subscribed(
    bus: EventBus, channel: str, count: int
) -> asyncio.Task[list[dict[str, object]]]:
    task = asyncio.create_task(_first(bus, channel, count))
    await asyncio.sleep(0.2)  # let the subscription register before publishing
    return task


async def test_local_bus_fans_out_to_every_subscriber_and_only_on_its_channel() -> None:
    bus = LocalBus()
    channel = session_channel("s1")
    first = await _subscribed(bus, channel, 2)
    second = await _subscribed(bus, channel, 2)
    other = await _subscribed(bus, session_channel("s2"), 1)
    bus.publish(channel, {"progress": 10})
    publisher = threading.Thread(target=bus.publish, args=(channel, {"progress": 100}))
    publisher.start()  # worker threads publish too
    publisher.join()
    expected = [{"progress": 10}, {"progress": 100}]
    assert await asyncio.wait_for(first, 5) == expected
    assert await asyncio.wait_for(second, 5) == expected
    assert not other.done()
    other.cancel()


async def test_redis_bus_delivers_across_connections(redis_bus: RedisBus) -> None:
    channel = session_channel(uuid.uuid4().hex)
    listener = await _subscribed(redis_bus, channel, 2)
    publisher = RedisBus(REDIS_URL)  # another process's connection, as a worker's would be
    publisher.publish(channel, {"status": "running", "progress": 50})
    publisher.publish(channel, {"status": "completed", "progress": 100})
    assert await asyncio.wait_for(listener, 5) == [
        {"status": "running", "progress": 50},
        {"status": "completed", "progress": 100},
    ]
    await publisher.aclose()


async def test_redis_bus_serves_more_subscribers_than_redis_pys_default_pool(
    redis_bus: RedisBus,
) -> None:
    """One subscription per WebSocket: 150 sockets (the default pool held 100) all receive."""
    channels = [session_channel(uuid.uuid4().hex) for _ in range(150)]
    listeners = [asyncio.create_task(_first(redis_bus, channel, 1)) for channel in channels]
    await asyncio.sleep(1.0)  # let every subscription register
    for channel in channels:
        redis_bus.publish(channel, {"status": "completed"})
    received = await asyncio.wait_for(asyncio.gather(*listeners), 15)
    assert received == [[{"status": "completed"}]] * len(channels)


def test_publishing_to_an_unreachable_redis_is_dropped_not_raised() -> None:
    RedisBus("redis://127.0.0.1:1/0").publish("status", {"event": "lost"})


def test_event_bus_picks_the_adapter_from_the_url() -> None:
    assert isinstance(event_bus(None), LocalBus)
    assert isinstance(event_bus(REDIS_URL), RedisBus)
