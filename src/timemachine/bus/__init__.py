"""The event bus: workers and the monitor publish events, API instances fan them out to
WebSocket clients, consumer groups process the durable topics (docs/events.md).

Adapters behind the `EventBus` and `Consumer` ports, one chosen by `event_bus`:
- `LocalBus` (in-process, the embedded default): fan-out, and durable topics within one process;
- `jetstream.JetStreamBus` (`EVENT_BUS_URL=nats://…`): durable topics in a JetStream stream with
  durable consumer groups across processes and machines, fan-out over NATS subjects;
- `redis_pubsub.RedisBus` (`REDIS_URL` without `EVENT_BUS_URL`): fan-out across API instances only.

Events are small JSON objects; the store stays the source of truth, so a lost fan-out event costs
a client one update, never data. Publishing never raises: an outage is logged and work goes on.
"""

from __future__ import annotations

from timemachine.bus.local import LocalBus
from timemachine.bus.topics import TOPICS, ConsumerStats, StreamSettings
from timemachine.ports import Event, EventBus
from timemachine.settings import Settings

__all__ = [
    "STATUS_CHANNEL",
    "TOPICS",
    "ConsumerStats",
    "Event",
    "EventBus",
    "LocalBus",
    "StreamSettings",
    "bus_of",
    "event_bus",
    "session_channel",
]

STATUS_CHANNEL = "status"
"""System events: sessions created and finished, workers and forks coming and going."""


def session_channel(session_id: str) -> str:
    """The channel a session's progress events go to."""
    return f"session:{session_id}"


def event_bus(
    redis_url: str | None, nats_url: str | None = None, streams: StreamSettings | None = None
) -> EventBus:
    """JetStream when `nats_url` is set, else Redis pub/sub when `redis_url` is, else in-process.

    The adapters' clients are imported here, so the library runs without them."""
    if nats_url:
        from timemachine.bus.jetstream import JetStreamBus

        return JetStreamBus(nats_url, streams)
    if redis_url:
        from timemachine.bus.redis_pubsub import RedisBus

        return RedisBus(redis_url)
    return LocalBus(streams)


def bus_of(settings: Settings) -> EventBus:
    """The bus `settings` configure (`event_bus` of EVENT_BUS_URL, REDIS_URL and the stream)."""
    return event_bus(settings.redis_url, settings.event_bus_url, StreamSettings.of(settings))
