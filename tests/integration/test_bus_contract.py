"""The contract of the durable bus, run over both adapters: the in-process `LocalBus` and
`JetStreamBus` on the machine's real NATS (127.0.0.1:4222; a skip outside CI when it is absent,
a failure in CI). Each test has its own stream and subjects, deleted afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path

import pytest

from tests.integration.bus_support import open_bus, stop, throwaway_streams
from timemachine.bus import LocalBus
from timemachine.bus.jetstream import JetStreamBus
from timemachine.chain.rpc import RpcClient
from timemachine.chain.tracker import BlockTracker, publish_reorgs
from timemachine.forks.process import AnvilProcess
from timemachine.ports import Delivery

from .chain_support import rpc

pytestmark = pytest.mark.integration

Bus = LocalBus | JetStreamBus
WAIT = 30.0
"""Seconds any expected delivery may take on a loaded machine (redeliveries wait ack_wait=2)."""


ADAPTERS = ["local", "jetstream"]


@pytest.fixture(params=ADAPTERS)
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    async with open_bus(request.param, throwaway_streams()) as opened:
        yield opened


class Collector:
    """A handler recording its deliveries; `until(n)` waits for the n-th."""

    def __init__(self, fail: Callable[[Delivery], bool] = lambda _: False) -> None:
        self.deliveries: list[Delivery] = []
        self.fail = fail
        self._changed = asyncio.Event()

    async def __call__(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        self._changed.set()
        if self.fail(delivery):
            raise RuntimeError(f"handler refused {delivery.event_id}")

    async def until(self, count: int) -> list[Delivery]:
        async def reached() -> None:
            while len(self.deliveries) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(reached(), WAIT)
        return self.deliveries

    @property
    def numbers(self) -> list[int]:
        return [delivery.event["n"] for delivery in self.deliveries]


def consuming(bus: Bus, topic: str, group: str, handler: Collector) -> asyncio.Task[None]:
    return asyncio.create_task(bus.consume(topic, group, handler))


async def published(bus: Bus, topic: str, numbers: range) -> None:
    for n in numbers:
        bus.publish(topic, {"type": "test", "n": n, "event_id": f"e{n}"})
    if isinstance(bus, JetStreamBus):
        await bus.flush()


async def test_every_group_gets_every_event_and_members_of_a_group_share_them(bus: Bus) -> None:
    await published(bus, "tx_raw", range(100))
    alone, first, second = Collector(), Collector(), Collector()
    tasks = [
        consuming(bus, "tx_raw", "alerting", alone),
        consuming(bus, "tx_raw", "simulation", first),
        consuming(bus, "tx_raw", "simulation", second),
    ]
    try:
        await alone.until(100)
        assert sorted(alone.numbers) == list(range(100))

        async def shared() -> None:
            while len(first.deliveries) + len(second.deliveries) < 100:
                await asyncio.sleep(0.05)

        await asyncio.wait_for(shared(), WAIT)
        assert sorted(first.numbers + second.numbers) == list(range(100))  # each exactly once
        assert {d.event_id for d in alone.deliveries} == {f"e{n}" for n in range(100)}
        assert all(d.attempt == 1 and d.topic == "tx_raw" for d in alone.deliveries)
    finally:
        for task in tasks:
            await stop(task)


async def test_a_failed_event_is_redelivered_then_given_up_after_max_deliver(bus: Bus) -> None:
    await published(bus, "alerts", range(3))
    handler = Collector(fail=lambda delivery: delivery.event["n"] == 1)
    task = consuming(bus, "alerts", "notify", handler)
    try:
        await handler.until(2 + 3)  # events 0 and 2 once, event 1 max_deliver (3) times
        retried = [d for d in handler.deliveries if d.event["n"] == 1]
        assert [d.attempt for d in retried] == [1, 2, 3]
        assert {d.event_id for d in retried} == {"e1"}
        assert sorted(handler.numbers) == [0, 1, 1, 1, 2]
        stats = bus.consumer_stats[("alerts", "notify")]
        assert (stats.handled, stats.failed, stats.given_up) == (2, 3, 1)
        await published(bus, "alerts", range(3, 4))  # the consumer goes on after giving up
        assert (await handler.until(6))[-1].event["n"] == 3
        assert sorted(handler.numbers) == [0, 1, 1, 1, 2, 3]
    finally:
        await stop(task)


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_slow_handling_longer_than_ack_wait_is_not_redelivered(kind: str) -> None:
    """12 events of 0.3 s each (3.6 s) in two members with a 3 s ack wait: the events a member
    holds while busy are kept in progress, none goes to the other member a second time."""
    async with open_bus(kind, throwaway_streams(ack_wait=3.0)) as slow_bus:
        await published(slow_bus, "tx_simulated", range(12))
        delivered: list[Delivery] = []
        done = asyncio.Event()

        async def slow(delivery: Delivery) -> None:
            await asyncio.sleep(0.3)  # the work (a simulation)
            delivered.append(delivery)
            if len(delivered) == 12:
                done.set()

        members = [
            asyncio.create_task(slow_bus.consume("tx_simulated", "sim", slow)) for _ in range(2)
        ]
        try:
            with suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), WAIT)
            handled = sorted((d.event["n"], d.attempt) for d in delivered)
            assert done.is_set(), f"only {handled} handled in {WAIT:g} s"
            await asyncio.sleep(3.5)  # past an ack wait: a redelivery would have come by now
        finally:
            for member in members:
                await stop(member)
        assert sorted(d.event["n"] for d in delivered) == list(range(12))
        assert {d.attempt for d in delivered} == {1}


async def test_a_repeated_message_id_is_delivered_once(bus: Bus) -> None:
    """Within the duplicate window, across every topic of the stream."""
    bus.publish("tx_enriched", {"n": 1, "event_id": "chain-1:0xabc"})
    bus.publish("tx_enriched", {"n": 2, "event_id": "chain-1:0xabc"})  # a second provider's copy
    bus.publish("tx_enriched", {"n": 3, "event_id": "chain-1:0xdef"})
    bus.publish("tx_raw", {"n": 0, "event_id": "chain-1:0xdef"})  # ids are stream-wide
    bus.publish("tx_enriched", {"n": 4})  # no id: a fresh one, never a duplicate
    bus.publish("tx_enriched", {"n": 4})
    if isinstance(bus, JetStreamBus):
        await bus.flush()
    handler = Collector()
    task = consuming(bus, "tx_enriched", "storage", handler)
    try:
        await handler.until(4)
        bus.publish("tx_enriched", {"n": 5, "event_id": "last"})
        await handler.until(5)
        assert handler.numbers == [1, 3, 4, 4, 5]
        assert [d.event_id for d in handler.deliveries][:2] == ["chain-1:0xabc", "chain-1:0xdef"]
    finally:
        await stop(task)


async def test_malformed_messages_are_counted_and_skipped(bus: Bus) -> None:
    bus.publish_encoded("blocks", b"{not json", "bad-1")
    bus.publish_encoded("blocks", b"[1, 2]", "bad-2")  # JSON, but not an event object
    bus.publish_encoded("blocks", b"\xff\xfe", "bad-3")
    await published(bus, "blocks", range(2))
    handler = Collector()
    task = consuming(bus, "blocks", "indexer", handler)
    try:
        await handler.until(2)
        assert handler.numbers == [0, 1]
        stats = bus.consumer_stats[("blocks", "indexer")]
        assert (stats.malformed, stats.handled, stats.failed) == (3, 2, 0)
    finally:
        await stop(task)


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_a_topic_keeps_its_newest_events_up_to_the_limit(kind: str) -> None:
    async with open_bus(kind, throwaway_streams(max_per_topic=3)) as limited:
        await published(limited, "mev_bundles", range(5))
        await published(limited, "alerts", range(10, 12))  # the limit is per topic
        late, alerts = Collector(), Collector()
        tasks = [
            consuming(limited, "mev_bundles", "late", late),
            consuming(limited, "alerts", "late", alerts),
        ]
        try:
            await late.until(3)
            await alerts.until(2)
            limited.publish("mev_bundles", {"n": 5})
            await late.until(4)
            assert late.numbers == [2, 3, 4, 5]
            assert alerts.numbers == [10, 11]
        finally:
            for task in tasks:
                await stop(task)


async def test_a_durable_group_resumes_where_it_stopped(bus: Bus) -> None:
    """A member stopped while handling event 5 (its 6th): after a restart the group gets exactly
    the events it had not acknowledged (5 again, as a redelivery) and the new ones."""
    await published(bus, "tx_simulated", range(10))
    hang = asyncio.Event()

    async def hanging_at_5(delivery: Delivery) -> None:
        await before(delivery)
        if delivery.event["n"] == 5:
            await hang.wait()  # never set: the member is stopped mid-handler

    before = Collector()
    first = asyncio.create_task(bus.consume("tx_simulated", "sim", hanging_at_5))
    await before.until(6)
    await stop(first)
    assert before.numbers == [0, 1, 2, 3, 4, 5]
    await published(bus, "tx_simulated", range(10, 13))
    # On JetStream the group lives in the server: a new client is a restarted process.
    restarted = bus if isinstance(bus, LocalBus) else JetStreamBus(bus.url, bus.streams)
    after = Collector()
    second = consuming(restarted, "tx_simulated", "sim", after)
    try:
        await after.until(8)
        assert sorted(after.numbers) == [5, 6, 7, 8, 9, 10, 11, 12]
        redelivered = next(d for d in after.deliveries if d.event["n"] == 5)
        assert redelivered.attempt == 2
    finally:
        await stop(second)
        await restarted.aclose()


async def test_subscribers_get_live_events_of_topics_and_plain_channels(bus: Bus) -> None:
    for channel in ("alerts", "session:abc"):
        seen: list[dict[str, object]] = []

        async def listen(channel: str = channel, seen: list[dict[str, object]] = seen) -> None:
            async for event in bus.subscribe(channel):
                seen.append(event)
                if "probe" not in event:
                    return

        async def subscribed(channel: str = channel, seen: list[dict[str, object]] = seen) -> None:
            while not seen:  # probes until one arrives: the subscription is live
                bus.publish(channel, {"probe": True})
                await asyncio.sleep(0.05)

        listener = asyncio.create_task(listen())
        await asyncio.wait_for(subscribed(), WAIT)
        bus.publish(channel, {"severity": "high", "channel": channel})
        await asyncio.wait_for(listener, WAIT)
        assert [event for event in seen if "probe" not in event] == [
            {"severity": "high", "channel": channel}
        ]


async def first_probe(bus: Bus) -> None:
    async for _ in bus.subscribe("session:probe"):
        return


async def test_150_websocket_subscribers_each_get_their_sessions_events(bus: Bus) -> None:
    """One subscription per WebSocket (JetStream shares one connection among them)."""
    channels = [f"session:s{n}" for n in range(150)]

    async def first(channel: str) -> dict[str, object]:
        async for event in bus.subscribe(channel):
            if "probe" not in event:
                return event
        raise AssertionError("the subscription ended")

    listeners = [asyncio.create_task(first(channel)) for channel in channels]
    live = asyncio.create_task(first_probe(bus))  # subscribed last
    while not live.done():
        bus.publish("session:probe", {"probe": True})
        await asyncio.wait({live}, timeout=0.05)
    for n, channel in enumerate(channels):
        bus.publish(channel, {"status": "completed", "n": n})
    received = await asyncio.wait_for(asyncio.gather(*listeners), WAIT)
    assert received == [{"status": "completed", "n": n} for n in range(150)]


@pytest.fixture
async def chain(anvil_binary: Path) -> AsyncIterator[AnvilProcess]:
    process = await AnvilProcess.start(anvil_binary, ["--silent"])
    try:
        yield process
    finally:
        process.stop()


async def test_a_reorg_seen_by_two_trackers_reaches_the_reorgs_topic_once(
    bus: Bus, chain: AnvilProcess
) -> None:
    for _ in range(6):
        await rpc(chain.url, "evm_mine")
    async with RpcClient(chain.url, retries=0) as upstream:
        trackers = [BlockTracker(upstream, chain="devnet") for _ in range(2)]
        for tracker in trackers:
            tracker.on_reorg(publish_reorgs(bus))
            for n in range(7):
                await tracker.observe(await rpc(chain.url, "eth_getBlockByNumber", hex(n), False))
        old = [
            (await rpc(chain.url, "eth_getBlockByNumber", hex(n), False))["hash"] for n in (5, 6)
        ]
        await rpc(chain.url, "anvil_reorg", 2, [])
        for tracker in trackers:
            await tracker.poll()
        new = [
            (await rpc(chain.url, "eth_getBlockByNumber", hex(n), False))["hash"] for n in (5, 6)
        ]
    handler = Collector()
    task = consuming(bus, "reorgs", "responders", handler)
    try:
        (delivery,) = await handler.until(1)
        bus.publish("reorgs", {"n": "end"})
        assert (await handler.until(2))[1].event == {"n": "end"}  # no second reorg event
        event = delivery.event
        assert (event["type"], event["chain"], event["depth"]) == ("chain_reorged", "devnet", 2)
        assert event["common_ancestor"]["number"] == 4
        assert [block["hash"] for block in event["old"]] == old
        assert [block["hash"] for block in event["new"]] == new
        assert delivery.event_id == f"reorg:devnet:{event['common_ancestor']['hash']}:{new[1]}"
    finally:
        await stop(task)
