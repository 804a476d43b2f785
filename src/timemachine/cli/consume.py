"""`timemachine consume TOPIC --group NAME --handler module:factory`: one member of a consumer
group as a process (registered in `cli/main.py`; docs/events.md).

The handler is made by a factory `factory(runtime, group) -> Handler` importable as
`package.module:name` (the runtime gives it the store, the bus, the engine), or a built-in:
`print` (each event as one JSON line on stdout), `store` (the monitor's storage:
`monitor.sinks:store`), `simulate` (the pre-inclusion simulator, on `tx_enriched`:
`monitor.sim_consumer:simulate`), `alert` (the rules and their alerts, on `tx_simulated` and
`tx_enriched`: `monitor.alert_consumer:alert`). A handler with an `aclose()` is closed on the
way out. SIGTERM or Ctrl-C stops after the event being
handled; the counts (handled, failed, malformed, given up) go to stderr as one JSON line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli.errors import reported_errors
from timemachine.errors import InvalidInputError

if TYPE_CHECKING:
    from timemachine.ports import Delivery, Handler
    from timemachine.runtime import Runtime

HandlerFactory = Callable[["Runtime", str], "Handler"]
BUILT_IN = {
    "store": "timemachine.monitor.sinks:store",
    "simulate": "timemachine.monitor.sim_consumer:simulate",
    "alert": "timemachine.monitor.alert_consumer:alert",
}


def print_events(runtime: Runtime, group: str) -> Handler:
    """The built-in handler: each delivery as one JSON line on stdout."""

    async def handler(delivery: Delivery) -> None:
        line = {"topic": delivery.topic, "event_id": delivery.event_id, "event": delivery.event}
        sys.stdout.write(json.dumps(line, default=str) + "\n")
        sys.stdout.flush()

    return handler


def load_factory(spec: str) -> HandlerFactory:
    """The factory named `module:attribute` (or a built-in name), or a one-line error."""
    if spec == "print":
        return print_events
    spec = BUILT_IN.get(spec, spec)
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidInputError(f"--handler {spec!r}: give package.module:factory, or print")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise InvalidInputError(f"--handler {spec!r} cannot be loaded: {error}") from None
    if not callable(factory):
        raise InvalidInputError(f"--handler {spec!r} is not callable")
    return factory  # type: ignore[no-any-return]  # checked callable; its signature is documented


async def run_member(runtime: Runtime, topic: str, group: str, factory: HandlerFactory) -> None:
    """Consume until SIGTERM/SIGINT, then report the counts on stderr."""
    consumer = runtime.consumer()
    handler = factory(runtime, group)
    task = asyncio.create_task(consumer.consume(topic, group, handler))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await consumer.aclose()
        close = getattr(handler, "aclose", None)
        if close is not None:
            await close()
        stats = consumer.consumer_stats.get((topic, group))
        if stats is not None:  # it did consume
            counts = {"topic": topic, "group": group, **dataclasses.asdict(stats)}
            sys.stderr.write(json.dumps(counts) + "\n")


def consume(
    topic: Annotated[str, typer.Argument(help="A durable topic: tx_raw, tx_enriched, …, alerts.")],
    group: Annotated[
        str, typer.Option("--group", "-g", help="Consumer group (members share its events).")
    ],
    handler: Annotated[
        str,
        typer.Option(
            "--handler",
            help="package.module:factory, called as factory(runtime, group) -> handler; "
            "or `print` (each event as a JSON line), `store` (the monitor's storage), "
            "`simulate` (the pre-inclusion simulator: consume tx_enriched), `alert` (the rules of "
            "ALERT_RULES_FILE and the stored ones: consume tx_simulated and tx_enriched).",
        ),
    ] = "print",
) -> None:
    """Consume a topic as one member of a durable consumer group (needs EVENT_BUS_URL=nats://…).

    Events are acknowledged when the handler returns and redelivered when it raises or the
    process dies; see docs/events.md for exactly-once effects in the store."""
    from timemachine.bus.topics import require_group, require_topic
    from timemachine.runtime import build

    with reported_errors():
        require_topic(topic)
        require_group(group)
        factory = load_factory(handler)
        asyncio.run(run_member(build(), topic, group, factory))
