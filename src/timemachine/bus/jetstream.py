"""NATS JetStream: the bus at scale (`EVENT_BUS_URL=nats://host:4222`).

The durable topics (`topics.TOPICS`) live in one stream (`StreamSettings.stream`, subjects
`<prefix>.<topic>`, limits retention: age, bytes, events per topic); every publish to them carries
a `Nats-Msg-Id`, so a copy within the duplicate window is dropped by the server. Consumer groups
are durable pull consumers named `<group>_<topic>` with explicit acks, `ack_wait` and
`max_deliver`: any number of processes on any machines share one group's events, a killed one's
unacknowledged events go to the others (or to it again) after `ack_wait`.

Every other channel (a session's progress, `status`) is plain NATS publish/subscribe: live
fan-out to each API instance's WebSockets, as Redis pub/sub does without NATS.

`publish` is synchronous (Celery tasks, worker threads and coroutines all call it) and never
blocks on the network: it queues the message for a publisher thread running its own event loop and
connection, which sends the queue in pipelined batches, waits for the stream's acknowledgements
and sends the unacknowledged again with the same message ids. `flush` waits for the queue.
Publishing never raises: an outage is logged and the event dropped, as with Redis.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from timemachine.bus.topics import (
    TOPICS,
    ConsumerStats,
    MalformedEventError,
    StreamSettings,
    decode,
    encode,
    handle,
    is_topic,
    message_id,
    require_group,
    require_topic,
)
from timemachine.errors import BrokerUnreachableError
from timemachine.logs import get_logger
from timemachine.ports import Event, Handler
from timemachine.urls import redact_url

log = get_logger(__name__)
MSG_ID_HEADER = "Nats-Msg-Id"
CONNECT_ATTEMPTS = 3
PUBLISH_TIMEOUT = 5.0
PUBLISH_ATTEMPTS = 3
MAX_UNSENT = 100_000
"""Events the publisher thread holds before dropping new ones (bounded memory in an outage)."""
FETCH_BATCH = 32
"""Events a consumer pulls at once (those waiting are kept in progress, see `_deliver_batch`)."""
FETCH_WAIT = 1.0
RECONNECT_DELAY = 0.5


async def connect(url: str, name: str) -> Client:
    """A NATS connection that reconnects forever once made; a server unreachable at the start
    (CONNECT_ATTEMPTS tries) is a `BrokerUnreachableError` naming the URL."""
    established = False

    async def on_error(error: Exception) -> None:
        if established:  # the start's failures become the one error below
            log.warning("nats connection error", url=redact_url(url), error=str(error))

    try:
        nc = await nats.connect(
            [server.strip() for server in url.split(",")],  # a cluster: comma-separated
            name=name,
            connect_timeout=2,
            allow_reconnect=True,
            max_reconnect_attempts=CONNECT_ATTEMPTS,
            reconnect_time_wait=RECONNECT_DELAY,
            error_cb=on_error,
        )
    except (OSError, TimeoutError, nats.errors.Error) as error:
        raise BrokerUnreachableError(
            f"NATS at {redact_url(url)} unreachable ({str(error) or type(error).__name__}); "
            "check EVENT_BUS_URL and that nats-server runs with JetStream (-js)"
        ) from None
    established = True
    nc.options["max_reconnect_attempts"] = -1  # from now on, reconnect forever
    return nc


def stream_config(streams: StreamSettings) -> StreamConfig:
    return StreamConfig(
        name=streams.stream,
        subjects=[streams.subject(topic) for topic in TOPICS],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=streams.max_age,
        max_bytes=streams.max_bytes,
        max_msgs_per_subject=streams.max_msgs_per_topic,
        duplicate_window=streams.duplicate_window,
    )


async def ensure_stream(js: JetStreamContext, streams: StreamSettings) -> None:
    """Create the stream, or bring an existing one to the configured limits."""
    config = stream_config(streams)
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:  # exists with other limits
        await js.update_stream(config)


Outgoing = tuple[str, bytes, str | None]
"""A subject, an encoded event and its message id (None: plain NATS, not stored)."""


class _Publisher:
    """A thread with its own event loop and connection that sends what `publish` queues, in
    batches: each batch is written at once (pipelined `publish_async`), then its acks awaited;
    the unacknowledged are sent again with the same message ids (the stream drops copies)."""

    def __init__(self, url: str, streams: StreamSettings) -> None:
        self.url, self.streams = url, streams
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True, name="nats-publisher")
        self._lock = threading.Condition()
        self._queue: deque[Outgoing] = deque()
        self._unsent = 0
        """Events queued or in a batch being sent."""
        self._wake_scheduled = False
        self._wake = asyncio.Event()
        self._nc: Client | None = None
        self._closed = False

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        drainer = self._loop.create_task(self._drain())
        self._loop.run_forever()
        drainer.cancel()
        self._loop.run_until_complete(asyncio.gather(drainer, return_exceptions=True))
        self._loop.close()

    def submit(self, outgoing: Outgoing) -> None:
        with self._lock:
            if self._closed:
                log.warning("event dropped: the bus is closed", subject=outgoing[0])
                return
            if not self._thread.is_alive():
                self._thread.start()
            if self._unsent >= MAX_UNSENT:
                log.warning("event dropped: nats publisher backlog full", subject=outgoing[0])
                return
            self._queue.append(outgoing)
            self._unsent += 1
            wake, self._wake_scheduled = not self._wake_scheduled, True
        if wake:
            self._loop.call_soon_threadsafe(self._wake.set)

    def wait_sent(self, timeout: float) -> bool:
        """Block until everything submitted was sent (or dropped); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._unsent == 0, timeout)

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            with self._lock:
                batch = list(self._queue)
                self._queue.clear()
                self._wake_scheduled = False
            await self._send(batch)
            with self._lock:
                self._unsent -= len(batch)
                self._lock.notify_all()

    async def _connection(self) -> Client:
        if self._nc is None:
            nc = await connect(self.url, "timemachine-publisher")
            await ensure_stream(nc.jetstream(), self.streams)
            self._nc = nc
        return self._nc

    async def _send(self, batch: list[Outgoing]) -> None:
        error: Exception | None = None
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            try:
                batch = await self._send_once(batch)
            except (BrokerUnreachableError, nats.errors.Error, TimeoutError) as failure:
                error = failure
            if not batch:
                return
            if attempt < PUBLISH_ATTEMPTS:
                await asyncio.sleep(RECONNECT_DELAY * attempt)
        where = redact_url(self.url)
        log.warning("events dropped: nats unavailable", url=where, events=len(batch), error=error)

    async def _send_once(self, batch: list[Outgoing]) -> list[Outgoing]:
        """Send `batch`; what the stream did not acknowledge within PUBLISH_TIMEOUT."""
        nc = await self._connection()
        js = nc.jetstream()
        acks: list[tuple[Outgoing, asyncio.Future[Any]]] = []
        for outgoing in batch:
            subject, payload, msg_id = outgoing
            if msg_id is None:
                await nc.publish(subject, payload)
            else:
                headers = {MSG_ID_HEADER: msg_id}
                acks.append((outgoing, await js.publish_async(subject, payload, headers=headers)))
        if not acks:
            return []
        await asyncio.wait([future for _, future in acks], timeout=PUBLISH_TIMEOUT)
        unacknowledged = []
        for outgoing, future in acks:
            if not future.done():
                future.cancel()
                unacknowledged.append(outgoing)
            elif future.exception() is not None:
                unacknowledged.append(outgoing)
        return unacknowledged

    def close(self) -> None:
        with self._lock:
            self._closed = True
        if not self._thread.is_alive():
            return
        self.wait_sent(PUBLISH_TIMEOUT * PUBLISH_ATTEMPTS)
        if self._nc is not None:
            closing = asyncio.run_coroutine_threadsafe(self._nc.close(), self._loop)
            with suppress(Exception):
                closing.result(timeout=PUBLISH_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=PUBLISH_TIMEOUT)


class JetStreamBus:
    """The NATS adapter of `EventBus` and `Consumer` (see the module doc)."""

    def __init__(self, url: str, streams: StreamSettings | None = None) -> None:
        self.url = url
        self.streams = streams or StreamSettings()
        self._publisher = _Publisher(url, self.streams)
        self._subscribers: dict[asyncio.AbstractEventLoop, Client] = {}
        self._subscribing: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self.consumer_stats: dict[tuple[str, str], ConsumerStats] = {}

    def publish(self, channel: str, event: Event) -> None:
        durable = is_topic(channel)
        msg_id = message_id(event) if durable else None
        self._publisher.submit((self.streams.subject(channel), encode(event), msg_id))

    def publish_encoded(self, topic: str, payload: bytes, msg_id: str) -> None:
        """Publish an already encoded event to a durable topic."""
        self._publisher.submit((self.streams.subject(require_topic(topic)), payload, msg_id))

    async def flush(self) -> None:
        """Wait until every event published so far was acknowledged by the server (or dropped)."""
        await asyncio.to_thread(self._publisher.wait_sent, PUBLISH_TIMEOUT * PUBLISH_ATTEMPTS)

    async def _subscriber_connection(self) -> Client:
        """The connection every subscription of the running loop shares (one per API process,
        not one per WebSocket); it reconnects and resubscribes by itself."""
        loop = asyncio.get_running_loop()
        async with self._subscribing.setdefault(loop, asyncio.Lock()):
            nc = self._subscribers.get(loop)
            if nc is None or nc.is_closed:
                nc = self._subscribers[loop] = await connect(self.url, "timemachine-subscriber")
            return nc

    async def subscribe(self, channel: str) -> AsyncIterator[Event]:
        while True:
            try:
                nc = await self._subscriber_connection()
                subscription = await nc.subscribe(self.streams.subject(channel))
            except (BrokerUnreachableError, nats.errors.Error) as error:
                log.warning("event subscription lost; retrying", channel=channel, error=str(error))
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            try:
                async for message in subscription.messages:
                    try:
                        yield decode(message.data)
                    except MalformedEventError as error:
                        log.warning("malformed event skipped", channel=channel, error=str(error))
            finally:
                with suppress(nats.errors.Error):
                    await subscription.unsubscribe()

    async def consume(self, topic: str, group: str, handler: Handler) -> None:
        require_topic(topic)
        require_group(group)
        nc = await connect(self.url, f"timemachine-{group}")
        stats = self.consumer_stats.setdefault((topic, group), ConsumerStats())
        try:
            js = nc.jetstream()
            await ensure_stream(js, self.streams)
            durable = f"{group}_{topic}"
            subscription = await js.pull_subscribe(
                self.streams.subject(topic),
                durable=durable,
                stream=self.streams.stream,
                config=ConsumerConfig(
                    durable_name=durable,
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    ack_wait=self.streams.ack_wait,
                    max_deliver=self.streams.max_deliver,
                ),
            )
            while True:
                try:
                    messages = await subscription.fetch(FETCH_BATCH, timeout=FETCH_WAIT)
                except TimeoutError:  # nats' own, or asyncio's when its deadline passed first
                    continue
                except nats.errors.Error as error:  # reconnecting: fetch again once it is back
                    if nc.is_closed:
                        raise BrokerUnreachableError(f"NATS connection closed: {error}") from None
                    log.warning(
                        "fetch failed; retrying", topic=topic, group=group, error=str(error)
                    )
                    await asyncio.sleep(RECONNECT_DELAY)
                    continue
                await self._deliver_batch(topic, group, messages, handler, stats)
        finally:
            with suppress(Exception):
                await nc.close()

    async def _deliver_batch(
        self, topic: str, group: str, messages: list[Msg], handler: Handler, stats: ConsumerStats
    ) -> None:
        """Handle fetched messages in order; those still waiting are marked in progress every
        half ack wait, so slow handlers do not get a batch's tail redelivered elsewhere."""
        renewed = time.monotonic()
        for index, message in enumerate(messages):
            if time.monotonic() - renewed > self.streams.ack_wait / 2:
                for waiting in messages[index:]:
                    await waiting.in_progress()
                renewed = time.monotonic()
            await self._deliver(topic, group, message, handler, stats)

    async def _deliver(
        self, topic: str, group: str, message: Msg, handler: Handler, stats: ConsumerStats
    ) -> None:
        meta = message.metadata
        headers: dict[str, Any] = message.headers or {}
        msg_id = headers.get(MSG_ID_HEADER) or f"{self.streams.stream}:{meta.sequence.stream}"
        delivery = (topic, group, msg_id, message.data, meta.num_delivered)
        outcome = await handle(delivery, handler, stats, self.streams.max_deliver)
        if outcome == "ack":
            await message.ack()
        elif outcome == "retry":
            await message.nak(delay=self.streams.nak_delay)
        else:
            await message.term()

    async def delete_stream(self) -> None:
        """Remove the stream and its consumers (tests, and decommissioning a deployment)."""
        nc = await connect(self.url, "timemachine-admin")
        try:
            with suppress(nats.js.errors.NotFoundError):
                await nc.jetstream().delete_stream(self.streams.stream)
        finally:
            await nc.close()

    async def aclose(self) -> None:
        await asyncio.to_thread(self._publisher.close)
        nc = self._subscribers.pop(asyncio.get_running_loop(), None)
        if nc is not None:
            with suppress(nats.errors.Error):
                await nc.close()
