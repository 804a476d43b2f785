"""The event bus adapters side by side: NATS JetStream vs in-process vs Redis pub/sub.

For each adapter, `--events` monitor-sized events (a pending transaction, ~450 bytes of JSON):
1. publish: events/s through `publish` until the last is accepted (JetStream: acknowledged by the
   stream, each with its Nats-Msg-Id; Redis: PUBLISH answered; in-process: appended);
2. durable consume: events/s one consumer group member handles and acknowledges from a filled
   topic (JetStream, in-process; Redis pub/sub has no durable groups);
3. live fan-out: events/s from the first publish until a live subscriber received the last.

Needs NATS with JetStream on 127.0.0.1:4222 and Redis on 127.0.0.1:6379 (an adapter whose server
is absent is reported as such). Streams are throw-away and deleted afterwards.

    python -m benchmarks.bus [--events 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from timemachine.bus import LocalBus, StreamSettings
from timemachine.bus.jetstream import JetStreamBus
from timemachine.bus.redis_pubsub import RedisBus
from timemachine.errors import BrokerUnreachableError
from timemachine.ports import Delivery, EventBus

NATS_URL = "nats://127.0.0.1:4222"
REDIS_URL = "redis://127.0.0.1:6379/14"


def pending_tx(n: int) -> dict[str, Any]:
    return {
        "type": "tx_raw",
        "event_id": f"1:0x{n:064x}",
        "chain": "ethereum",
        "hash": f"0x{n:064x}",
        "from": "0x" + "ab" * 20,
        "to": "0x" + "cd" * 20,
        "nonce": n,
        "value": str(10**18),
        "gas": 210_000,
        "max_fee_per_gas": 30_000_000_000,
        "max_priority_fee_per_gas": 1_000_000_000,
        "input": "0xa9059cbb" + "00" * 64,
        "first_seen": {"provider-a": 1_764_000_000.123},
    }


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def publish_rate(bus: EventBus, events: list[dict[str, Any]]) -> float:
    async def publish_all() -> None:
        for event in events:
            bus.publish("tx_raw", event)
        if isinstance(bus, JetStreamBus):
            await bus.flush()

    return len(events) / await timed(publish_all)


async def consume_rate(bus: LocalBus | JetStreamBus, count: int) -> float:
    """Handled events/s of one member of a new group over the `count` events of `tx_raw`."""
    done = asyncio.Event()
    handled = 0

    async def handler(_delivery: Delivery) -> None:
        nonlocal handled
        handled += 1
        if handled == count:
            done.set()

    group = f"bench{uuid.uuid4().hex[:8]}"
    task = asyncio.create_task(bus.consume("tx_raw", group, handler))
    try:
        return count / await timed(done.wait)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def fan_out_rate(bus: EventBus, events: list[dict[str, Any]]) -> float:
    """Events/s from the first publish to the last received by a live subscriber ("alerts" is
    a plain channel on Redis, a durable topic's subject on JetStream, both fan out live)."""
    received = 0
    live, done = asyncio.Event(), asyncio.Event()

    async def listen() -> None:
        nonlocal received
        async for event in bus.subscribe("alerts"):
            if "probe" in event:
                live.set()
                continue
            received += 1
            if received == len(events):
                done.set()
                return

    listener = asyncio.create_task(listen())
    while not live.is_set():  # probes until the subscription is live
        bus.publish("alerts", {"probe": True})
        await asyncio.sleep(0.05)

    async def publish_and_receive() -> None:
        for event in events:
            bus.publish("alerts", event)
        await done.wait()

    try:
        return len(events) / await timed(publish_and_receive)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def measure(kind: str, count: int) -> tuple[float, float | None, float]:
    events = [pending_tx(n) for n in range(count)]
    tag = uuid.uuid4().hex[:8]
    streams = StreamSettings(stream=f"TMBENCH_{tag}", prefix=f"tmbench.{tag}")
    bus: LocalBus | JetStreamBus | RedisBus
    if kind == "jetstream":
        bus = JetStreamBus(NATS_URL, streams)
    elif kind == "redis":
        bus = RedisBus(REDIS_URL)
    else:
        bus = LocalBus(streams)
    try:
        published = await publish_rate(bus, events)
        if isinstance(bus, RedisBus):
            consumed = None
        else:  # the in-process bus keeps its newest MEMORY_RETENTION events per topic
            kept = min(count, bus.retention) if isinstance(bus, LocalBus) else count
            consumed = await consume_rate(bus, kept)
        fanned = await fan_out_rate(bus, [{**event, "event_id": None} for event in events])
    finally:
        await bus.aclose()
        if isinstance(bus, JetStreamBus):
            await bus.delete_stream()
    return published, consumed, fanned


def figure(values: list[float | None]) -> str:
    known = [value for value in values if value is not None]
    return f"{statistics.median(known):>12,.0f}" if known else f"{'n/a':>12}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.events:,} events of ~450 B per round, median of {args.rounds} rounds (events/s)")
    print(f"{'adapter':<22}{'publish':>12}{'consume':>12}{'fan-out':>12}")
    for kind, label in (
        ("jetstream", "NATS JetStream"),
        ("local", "in-process"),
        ("redis", "Redis pub/sub"),
    ):
        try:
            rounds = [await measure(kind, args.events) for _ in range(args.rounds)]
        except (BrokerUnreachableError, OSError) as error:
            print(f"{label:<22}unavailable: {error}")
            continue
        columns = zip(*rounds, strict=True)
        print(f"{label:<22}" + "".join(figure(list(column)) for column in columns))
    print("consume: one group member, explicit ack per event; n/a: pub/sub has no durable groups")


if __name__ == "__main__":
    asyncio.run(main())
