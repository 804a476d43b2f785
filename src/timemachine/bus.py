"""The event bus: workers publish session progress and system events, API instances fan them out
to WebSocket clients.

Two adapters behind one small protocol: `RedisBus` (Redis pub/sub, so any API instance serves any
client, whichever worker published) and `LocalBus` (in-process queues, the embedded default).
Events are small JSON objects; the store stays the source of truth, so a lost event costs a
client one update, never data: clients that (re)connect are sent the current state first.
Publishing never raises: a bus outage is logged and the work goes on.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import suppress

import redis
import redis.asyncio as aioredis

from timemachine.logs import get_logger
from timemachine.ports import Event, EventBus
from timemachine.urls import redact_url

__all__ = ["STATUS_CHANNEL", "Event", "EventBus", "LocalBus", "RedisBus", "event_bus"]

PREFIX = "timemachine:"
RECONNECT_DELAY = 0.5
"""Seconds between attempts to re-subscribe after Redis went away."""

log = get_logger(__name__)


def session_channel(session_id: str) -> str:
    """The channel a session's progress events go to."""
    return f"session:{session_id}"


STATUS_CHANNEL = "status"
"""System events: sessions created and finished, workers and forks coming and going."""


class LocalBus:
    """In-process fan-out. `publish` is thread-safe (worker threads call it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]]]
        self._subscribers = {}

    def publish(self, channel: str, event: Event) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, ()))
        for loop, queue in targets:
            with suppress(RuntimeError):  # the subscriber's loop has closed
                loop.call_soon_threadsafe(queue.put_nowait, event)

    async def subscribe(self, channel: str) -> AsyncIterator[Event]:
        entry = (asyncio.get_running_loop(), asyncio.Queue[Event]())
        with self._lock:
            self._subscribers.setdefault(channel, set()).add(entry)
        try:
            while True:
                yield await entry[1].get()
        finally:
            with self._lock:
                self._subscribers.get(channel, set()).discard(entry)

    async def aclose(self) -> None:
        with self._lock:
            self._subscribers.clear()


MAX_SUBSCRIBERS = 10_000
"""Redis connections one RedisBus may open for subscriptions (Redis' own default maxclients)."""


class RedisBus:
    """Redis pub/sub. Subscribers survive a Redis restart: they re-subscribe until it is back
    (events published meanwhile are lost; clients re-read the state from the store)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sync = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        # One connection per subscriber (a WebSocket): redis-py's default cap of 100 made the
        # 101st subscriber fail and retry forever ("Too many connections").
        self._async = aioredis.Redis.from_url(
            url, socket_connect_timeout=2, max_connections=MAX_SUBSCRIBERS
        )

    def publish(self, channel: str, event: Event) -> None:
        try:
            self._sync.publish(PREFIX + channel, json.dumps(event, default=str))
        except redis.RedisError as exc:
            where = redact_url(self.url)
            log.warning("event dropped: redis unavailable", url=where, error=str(exc))

    async def subscribe(self, channel: str) -> AsyncIterator[Event]:
        while True:
            pubsub = self._async.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(PREFIX + channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        yield json.loads(message["data"])
            except (redis.RedisError, OSError) as exc:
                log.warning("event subscription lost; retrying", channel=channel, error=str(exc))
                await asyncio.sleep(RECONNECT_DELAY)
            finally:
                with suppress(redis.RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py stubs

    async def aclose(self) -> None:
        self._sync.close()
        await self._async.aclose()


def event_bus(redis_url: str | None) -> EventBus:
    """Redis pub/sub when `redis_url` is set, else the in-process bus."""
    return RedisBus(redis_url) if redis_url else LocalBus()
