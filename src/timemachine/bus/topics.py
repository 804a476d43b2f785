"""What every bus adapter shares: the durable topics, their retention, the wire format.

The monitor's topics are durable (kept, replayed to consumer groups, acknowledged); every other
channel (a session's progress, `status`, `mev`) is live fan-out only. On the wire an event is one
JSON object; its message id travels beside it (the `Nats-Msg-Id` header on NATS) and is the
event's `event_id` field when the publisher set one, else a fresh random id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from timemachine.errors import InvalidInputError
from timemachine.logs import get_logger
from timemachine.ports import Delivery, Event, Handler
from timemachine.settings import Settings

log = get_logger(__name__)

TX_RAW = "tx_raw"
"""`tx_pending`: a transaction seen for the first time, normalized."""
TX_ENRICHED = "tx_enriched"
"""`tx_enriched` and every later state change of a monitored transaction: `tx_included`,
`tx_replaced`, `tx_dropped`, `tx_reorged`."""
TX_SIMULATED = "tx_simulated"
"""`tx_simulated`: the outcome of replaying a pending transaction on a fork of the head."""
BLOCKS = "blocks"
"""`block`: a new canonical head and what the monitor saw included in it."""
REORGS = "reorgs"
"""`chain_reorged`: a reorganization (depth, common ancestor, old and new hashes)."""
MEV_BUNDLES = "mev_bundles"
"""`mev_bundle`: sandwiches and arbitrages found in an included block."""
ALERTS = "alerts"
"""`alert`: a pending transaction whose simulation has a high or critical finding, or that
touches a watched address."""

TOPICS: tuple[str, ...] = (TX_RAW, TX_ENRICHED, TX_SIMULATED, BLOCKS, REORGS, MEV_BUNDLES, ALERTS)
"""The durable topics (issue 17): what the monitor's stages publish and consume."""

EVENT_ID_KEY = "event_id"
"""An event field naming its message id: publishers that may send one event twice (several
providers, a retried process) set it so the bus drops the copies."""


class MalformedEventError(InvalidInputError):
    """A message on a topic that is not one JSON object."""


_CONFIGURED = (
    "stream",
    "prefix",
    "max_age",
    "max_bytes",
    "duplicate_window",
    "ack_wait",
    "max_deliver",
)


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """The durable topics' stream and its consumers' delivery rules."""

    stream: str = "TIMEMACHINE"
    prefix: str = "timemachine"
    """Subjects are `<prefix>.<channel>`; the stream holds `<prefix>.<topic>` of `TOPICS`."""
    max_age: float = 7 * 24 * 3600.0
    """Seconds an event is kept (0: no limit)."""
    max_bytes: int = 1 << 30
    """Bytes the stream keeps before dropping its oldest events (-1: no limit)."""
    max_msgs_per_topic: int = 1_000_000
    """Events kept per topic before the oldest are dropped (-1: no limit)."""
    duplicate_window: float = 120.0
    """Seconds within which a second event with the same message id, on any topic, is dropped."""
    ack_wait: float = 30.0
    """Seconds a delivery may stay unacknowledged before it is redelivered."""
    max_deliver: int = 5
    """Deliveries of one event to one group before it is given up (logged, counted)."""
    nak_delay: float = 1.0
    """Seconds before a failed delivery is retried."""

    @classmethod
    def of(cls, settings: Settings) -> StreamSettings:
        """The stream settings configured as `event_bus_<field>` (`nak_delay` is not)."""
        configured = {name: getattr(settings, f"event_bus_{name}") for name in _CONFIGURED}
        return cls(max_msgs_per_topic=settings.event_bus_max_per_topic, **configured)

    def subject(self, channel: str) -> str:
        return f"{self.prefix}.{channel}"


def is_topic(channel: str) -> bool:
    return channel in TOPICS


def require_topic(topic: str) -> str:
    if topic not in TOPICS:
        raise InvalidInputError(f"unknown topic {topic!r}; the topics are {', '.join(TOPICS)}")
    return topic


def require_group(group: str) -> str:
    """A group name is a consumer name on NATS: letters, digits, `-` and `_`."""
    if not group or not all(c.isalnum() or c in "-_" for c in group) or len(group) > 64:
        raise InvalidInputError(
            f"invalid consumer group {group!r}: use 1-64 letters, digits, '-' or '_'"
        )
    return group


def message_id(event: Event) -> str:
    given = event.get(EVENT_ID_KEY)
    return given if isinstance(given, str) and given else uuid.uuid4().hex


def encode(event: Event) -> bytes:
    return json.dumps(event, default=str, separators=(",", ":")).encode()


def decode(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedEventError(f"not JSON: {error}") from None
    if not isinstance(event, dict):
        raise MalformedEventError(f"not a JSON object but {type(event).__name__}")
    return event


@dataclass
class ConsumerStats:
    """What one `consume` call did (also logged)."""

    handled: int = 0
    failed: int = 0
    """Deliveries whose handler raised (each is redelivered until `max_deliver`)."""
    malformed: int = 0
    """Messages that were not an event: counted, dropped, never handed to the handler."""
    given_up: int = 0
    """Events dropped after `max_deliver` failed deliveries."""


Outcome = Literal["ack", "retry", "drop"]


async def handle(
    delivery: tuple[str, str, str, bytes, int],
    handler: Handler,
    stats: ConsumerStats,
    max_deliver: int,
) -> Outcome:
    """Decode and hand one delivery (topic, group, message id, payload, attempt) to `handler`:
    what the adapter then does with the message. Malformed messages and events that failed
    `max_deliver` times are dropped (counted and logged), a failed handler's are retried."""
    topic, group, msg_id, payload, attempt = delivery
    try:
        event = decode(payload)
    except MalformedEventError as error:
        stats.malformed += 1
        log.warning("malformed event skipped", topic=topic, group=group, error=str(error))
        return "drop"
    try:
        await handler(Delivery(topic, msg_id, event, attempt))
    except Exception as error:  # noqa: BLE001 - any failure of the handler: redeliver
        stats.failed += 1
        log.warning("event handler failed", topic=topic, group=group, error=str(error))
        if attempt < max_deliver:
            return "retry"
        stats.given_up += 1
        log.error("event given up", topic=topic, group=group, event_id=msg_id)
        return "drop"
    stats.handled += 1
    return "ack"
