"""The durable bus under test: adapters with throw-away streams, and the consumer handler the
process tests run in `timemachine consume` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.integration.service_support import require_service
from timemachine.bus import LocalBus, StreamSettings
from timemachine.bus.jetstream import JetStreamBus
from timemachine.ports import Delivery, Handler
from timemachine.store.processed_events import exactly_once

if TYPE_CHECKING:
    from timemachine.runtime import Runtime

NATS_HOST, NATS_PORT = "127.0.0.1", 4222
NATS_URL = f"nats://{NATS_HOST}:{NATS_PORT}"
ROWS_TABLE = "bus_test_rows"
"""The store effect of the process tests' handler: one row per handled event, no unique key
(so a duplicate effect would show as a second row)."""


def throwaway_streams(
    ack_wait: float = 2.0, max_deliver: int = 3, max_per_topic: int = 1000
) -> StreamSettings:
    """A stream and subject prefix of this test alone (parallel and repeated runs never meet),
    with short redelivery delays."""
    tag = uuid.uuid4().hex[:12]
    return StreamSettings(
        stream=f"TMTEST_{tag}",
        prefix=f"tmtest.{tag}",
        ack_wait=ack_wait,
        max_deliver=max_deliver,
        max_msgs_per_topic=max_per_topic,
        nak_delay=0.1,
    )


@asynccontextmanager
async def open_bus(kind: str, streams: StreamSettings) -> AsyncIterator[LocalBus | JetStreamBus]:
    """The adapter `kind` (`local` or `jetstream`); a JetStream stream is deleted afterwards."""
    if kind == "local":
        yield LocalBus(streams)
        return
    require_service("NATS JetStream", NATS_HOST, NATS_PORT)
    bus = JetStreamBus(NATS_URL, streams)
    try:
        yield bus
    finally:
        await bus.aclose()
        await bus.delete_stream()


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task


def store_rows(runtime: Runtime, group: str) -> Handler:
    """The process tests' handler factory (`--handler tests.integration.bus_support:store_rows`).

    Every delivery is appended to BUS_TEST_DELIVERIES before anything else; its effect, one row
    in `bus_test_rows`, goes through the idempotent sink. With BUS_TEST_DIE_AT=k the process
    SIGKILLs itself right after the k-th effect is committed and before its ack: the worst moment.
    """
    db = runtime.database()
    deliveries = Path(os.environ["BUS_TEST_DELIVERIES"])
    die_at = int(os.environ.get("BUS_TEST_DIE_AT", "0"))
    handled = 0

    def effect(session: Session, delivery: Delivery) -> None:
        session.execute(
            text(f"INSERT INTO {ROWS_TABLE} (event_id, n) VALUES (:id, :n)"),
            {"id": delivery.event_id, "n": delivery.event["n"]},
        )

    sink = exactly_once(db, group, effect)

    async def handler(delivery: Delivery) -> None:
        nonlocal handled
        with deliveries.open("a") as log:
            log.write(f"{delivery.event_id} {delivery.attempt}\n")
        await sink(delivery)
        handled += 1
        if handled == die_at:
            os.kill(os.getpid(), signal.SIGKILL)

    return handler
