"""Redis pub/sub: live fan-out of session progress and system events across API instances when
Redis is configured and NATS is not. Subscribers survive a Redis restart (they re-subscribe);
events published meanwhile are lost and clients re-read the state from the store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import suppress

import redis
import redis.asyncio as aioredis

from timemachine.logs import get_logger
from timemachine.ports import Event
from timemachine.urls import redact_url

PREFIX = "timemachine:"
RECONNECT_DELAY = 0.5
"""Seconds between attempts to re-subscribe after Redis went away."""

log = get_logger(__name__)


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
