"""The in-process bus, the embedded default: live fan-out for every channel, and for the durable
topics the same delivery rules as JetStream (`bus.jetstream`) within one process.

A durable topic is a log bounded by `MEMORY_RETENTION` (or the stream's lower limit); each
consumer group has a cursor and its unacknowledged deliveries. A delivery whose handler raised
comes back after `nak_delay`, one whose consumer was cancelled mid-handler after `ack_wait`, each
at most `max_deliver` times. Events are stored encoded, so a consumer never shares the
publisher's objects.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field

from timemachine.bus.topics import (
    EVENT_ID_KEY,
    ConsumerStats,
    StreamSettings,
    encode,
    handle,
    is_topic,
    message_id,
    require_group,
    require_topic,
)
from timemachine.logs import get_logger
from timemachine.ports import Event, Handler

log = get_logger(__name__)
MEMORY_RETENTION = 10_000
"""Events an in-process topic keeps at most (memory stays bounded; JetStream keeps them on disk)."""
MEMORY_IDS = 200_000
"""Message ids remembered at most for de-duplication (the oldest are forgotten first)."""
IDLE_WAKEUP = 1.0
"""Seconds an idle consumer waits for a publish before looking at its deadlines again."""


@dataclass
class _Pending:
    attempts: int
    due: float
    """When the delivery is handed out (again): now for a new one, later after a failure."""
    leased: bool = False


@dataclass
class _Group:
    cursor: int
    """The next sequence never delivered to this group."""
    pending: dict[int, _Pending] = field(default_factory=dict)


@dataclass
class _Log:
    first: int = 1
    entries: deque[tuple[str, bytes]] = field(default_factory=deque)
    groups: dict[str, _Group] = field(default_factory=dict)
    waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(default_factory=set)

    @property
    def next(self) -> int:
        return self.first + len(self.entries)

    def entry(self, seq: int) -> tuple[str, bytes] | None:
        index = seq - self.first
        return self.entries[index] if 0 <= index < len(self.entries) else None


class LocalBus:
    """In-process bus. `publish` is thread-safe (worker threads call it); consumers and
    subscribers run on any event loop."""

    def __init__(self, streams: StreamSettings | None = None) -> None:
        self.streams = streams or StreamSettings()
        limit = self.streams.max_msgs_per_topic
        self.retention = MEMORY_RETENTION if limit < 0 else min(limit, MEMORY_RETENTION)
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]]]
        self._subscribers = {}
        self._logs: dict[str, _Log] = {}
        self._seen: set[str] = set()
        """Message ids published within the duplicate window (of every topic, as a stream)..."""
        self._seen_order: deque[tuple[float, str]] = deque()
        """... oldest first, with when."""
        self.consumer_stats: dict[tuple[str, str], ConsumerStats] = {}

    def publish(self, channel: str, event: Event) -> None:
        if is_topic(channel):
            given = EVENT_ID_KEY in event  # a fresh random id cannot repeat: not remembered
            self.publish_encoded(channel, encode(event), message_id(event), remember=given)
        self._fan_out(channel, event)

    def publish_encoded(
        self, topic: str, payload: bytes, msg_id: str, *, remember: bool = True
    ) -> None:
        """Append an encoded event to a durable topic (dropped if `msg_id` is a duplicate)."""
        now = time.monotonic()
        with self._lock:
            topic_log = self._logs.setdefault(require_topic(topic), _Log())
            seen, order = self._seen, self._seen_order
            while order and (
                now - order[0][0] > self.streams.duplicate_window or len(order) > MEMORY_IDS
            ):
                seen.discard(order.popleft()[1])
            if msg_id in seen:
                return
            if remember:
                seen.add(msg_id)
                order.append((now, msg_id))
            topic_log.entries.append((msg_id, payload))
            while len(topic_log.entries) > self.retention:
                topic_log.entries.popleft()
                topic_log.first += 1
            waiters = list(topic_log.waiters)
        for loop, wakeup in waiters:
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(wakeup.set)

    def _fan_out(self, channel: str, event: Event) -> None:
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

    async def consume(self, topic: str, group: str, handler: Handler) -> None:
        require_topic(topic)
        require_group(group)
        stats = self.consumer_stats.setdefault((topic, group), ConsumerStats())
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            topic_log = self._logs.setdefault(topic, _Log())
            topic_log.groups.setdefault(group, _Group(cursor=topic_log.first))
            topic_log.waiters.add(waiter)
        try:
            while True:
                waiter[1].clear()
                taken = self._take(topic_log, group)
                if isinstance(taken, float):
                    with suppress(TimeoutError):
                        await asyncio.wait_for(waiter[1].wait(), min(taken, IDLE_WAKEUP))
                    continue
                seq, msg_id, payload, attempt = taken
                delivery = (seq, msg_id, payload, attempt)
                await self._deliver(topic, group, delivery, handler, stats)
        finally:
            with self._lock:
                topic_log.waiters.discard(waiter)

    def _take(self, topic_log: _Log, group: str) -> tuple[int, str, bytes, int] | float:
        """Lease the group's next due delivery, or the seconds until one may be due."""
        now = time.monotonic()
        with self._lock:
            state = topic_log.groups[group]
            for seq, p in list(state.pending.items()):
                spent = not p.leased and p.attempts >= self.streams.max_deliver
                if seq < topic_log.first or spent:  # aged out, or delivered max_deliver times
                    del state.pending[seq]
            if state.cursor < topic_log.first:
                log.warning(
                    "consumer group fell behind the in-process retention; events lost",
                    group=group,
                    lost=topic_log.first - state.cursor,
                )
                state.cursor = topic_log.first
            due = [s for s, p in state.pending.items() if not p.leased and p.due <= now]
            if due:
                seq = min(due)
            elif state.cursor < topic_log.next:
                seq = state.cursor
                state.cursor += 1
                state.pending[seq] = _Pending(attempts=0, due=now)
            else:
                waits = [p.due - now for p in state.pending.values() if not p.leased]
                return max(min(waits, default=IDLE_WAKEUP), 0.01)
            pending = state.pending[seq]
            pending.attempts += 1
            pending.leased = True
            entry = topic_log.entry(seq)
            assert entry is not None  # seq is within the log: pruned above
            return seq, entry[0], entry[1], pending.attempts

    async def _deliver(
        self,
        topic: str,
        group: str,
        leased: tuple[int, str, bytes, int],
        handler: Handler,
        stats: ConsumerStats,
    ) -> None:
        seq, msg_id, payload, attempt = leased
        retry_in: float | None = self.streams.ack_wait  # cancelled mid-handler: as if it hung
        try:
            delivery = (topic, group, msg_id, payload, attempt)
            outcome = await handle(delivery, handler, stats, self.streams.max_deliver)
            retry_in = self.streams.nak_delay if outcome == "retry" else None
        finally:
            self._settle(self._logs[topic], group, seq, retry_in)

    def _settle(self, topic_log: _Log, group: str, seq: int, retry_in: float | None) -> None:
        with self._lock:
            pending = topic_log.groups[group].pending
            if retry_in is None:
                pending.pop(seq, None)
            elif seq in pending:
                pending[seq].leased = False
                pending[seq].due = time.monotonic() + retry_in

    async def aclose(self) -> None:
        with self._lock:
            self._subscribers.clear()
