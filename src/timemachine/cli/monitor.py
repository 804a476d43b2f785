"""`timemachine monitor`: watch a chain's mempool live, simulate the interesting pending
transactions before they are mined, and show (or print as JSON lines) everything that happens."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli.chain import ChainName, RpcUrls, _debug, _open_pool
from timemachine.cli.errors import run_async
from timemachine.cli.inputs import JsonOption

if TYPE_CHECKING:
    from rich.console import RenderableType

    from timemachine.chain.pool import ProviderPool
    from timemachine.monitor.service import Monitor
    from timemachine.ports import EventBus

REFRESH = 0.5


def monitor(
    chain: ChainName = None,
    rpc_url: RpcUrls = None,
    simulate: Annotated[
        str | None,
        typer.Option(
            "--simulate",
            "-s",
            help="Which pending txs to simulate on a fork of the head: comma-separated terms, "
            "any of all, none, watched, unknown, flash-loan, kind=<kind>, value>=<wei|Neth> "
            "(default: MONITOR_SIMULATE).",
        ),
    ] = None,
    watch: Annotated[
        str | None,
        typer.Option("--watch", "-w", help="Comma-separated addresses to watch (alerts)."),
    ] = None,
    as_json: JsonOption = False,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0.1, help="Stop after this many seconds.")
    ] = None,
    rules_file: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            envvar="ALERT_RULES_FILE",
            dir_okay=False,
            help="Rule file (YAML/JSON, see `timemachine rules validate`): evaluate every "
            "monitored tx at each stage, store the alerts, publish them on the `alerts` topic "
            "and deliver them to their channels. The enabled rules stored over REST run too; "
            "both are reloaded when they change.",
        ),
    ] = None,
    deliver: Annotated[
        str | None,
        typer.Option(
            "--deliver",
            help="inline: alerts are delivered by this process; queue: as jobs on the `alerts` "
            "queue of the Celery workers (retried, redelivered if a worker dies). Default: "
            "ALERT_DELIVERY.",
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", help="No view, no output: run until stopped (what serve runs)."),
    ] = False,
) -> None:
    """Watch the mempool: ingest pending txs from every provider, enrich them, follow them until
    included, replaced or dropped, and simulate the ones the filter picks before they are mined.
    `--json` prints one JSON object per event line (topics tx_raw, tx_enriched, tx_simulated,
    blocks, reorgs, mev_bundles, alerts)."""
    from timemachine.monitor.alerting import running_rules
    from timemachine.monitor.prefilter import SimulationFilter
    from timemachine.monitor.service import MonitorHook
    from timemachine.monitor.setup import MonitorOptions, build_monitor
    from timemachine.rules.stored import RuleSources
    from timemachine.runtime import build
    from timemachine.security.outbound import OutboundPolicy
    from timemachine.security.vault import Vault
    from timemachine.settings import get_settings

    settings = get_settings()

    async def run() -> None:
        SimulationFilter.parse(simulate or settings.monitor_simulate)  # bad input: before I/O
        dispatch = _dispatch(deliver or settings.alert_delivery)
        pool, name, confirmations = _open_pool(chain, rpc_url)
        runtime = build(settings)
        bus = runtime.bus()
        database = runtime.database()
        options = MonitorOptions(
            simulate=simulate or settings.monitor_simulate,
            watch=tuple(a.strip() for a in (watch or settings.monitor_watch).split(",") if a),
            forks=settings.monitor_forks,
            backlog=settings.monitor_backlog,
            deadline=settings.monitor_deadline,
            drop_after=settings.monitor_drop_after,
            retention_hours=settings.monitor_retention_hours,
            confirmations=confirmations,
        )
        try:
            async with contextlib.AsyncExitStack() as stack:
                rules = RuleSources(rules_file, database, vault=Vault.from_settings(settings))
                chain_id = await _chain_id(pool, name)
                policy = OutboundPolicy.from_settings(settings)
                hook: MonitorHook = await stack.enter_async_context(
                    running_rules(
                        rules,
                        database,
                        bus,
                        chain_id,
                        policy=policy,
                        dispatch=dispatch,
                    )
                )
                watcher = build_monitor(
                    pool,
                    name=name or "chain",
                    decoder=runtime.decoder,
                    bus=bus,
                    options=options,
                    forks=runtime.forks,
                    database=database if settings.monitor_store == "local" else None,
                    hook=hook,
                )
                async with asyncio.timeout(duration):
                    if quiet:
                        await _run_until_stopped(watcher)
                    elif as_json:
                        await _run_printing(watcher, bus)
                    else:
                        await _run_live(watcher)
        except TimeoutError:
            pass
        finally:
            await pool.aclose()
            await runtime.aclose()
            await bus.aclose()

    run_async(run(), debug=_debug())


async def _chain_id(pool: ProviderPool, name: str) -> int:
    """The chain's id for the rules: asked of the chain, else (providers down at start: the
    monitor reconnects) the registry's for a named chain, else 0."""
    from timemachine.chain.registry import find_chain
    from timemachine.errors import RpcError
    from timemachine.hexutil import quantity

    try:
        return quantity(await pool.call("eth_chainId")) or 0
    except RpcError:
        return find_chain(name).chain_id if name else 0


def _dispatch(mode: str) -> Callable[[str], None] | None:
    """None (deliver in this process) or the enqueueing of a delivery worker's turn."""
    from timemachine.errors import InvalidInputError

    if mode == "inline":
        return None
    if mode != "queue":
        raise InvalidInputError(f"--deliver {mode!r}: use inline or queue")
    from timemachine.tasks.alerts_tasks import enqueue_delivery

    return enqueue_delivery


async def _run_until_stopped(watcher: Monitor) -> None:
    """Run until SIGTERM/SIGINT, then stop cleanly (the last changes stored); started by `serve`,
    also stop when it is gone."""
    import signal

    from timemachine.processes import ParentWatchdog

    ParentWatchdog.from_env()
    task = asyncio.create_task(watcher.run())
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _run_printing(watcher: Monitor, bus: EventBus) -> None:
    from timemachine.bus.topics import TOPICS

    async def relay(topic: str) -> None:
        async for event in bus.subscribe(topic):
            sys.stdout.write(json.dumps({"topic": topic, **event}, default=str) + "\n")
            sys.stdout.flush()

    async with asyncio.TaskGroup() as group:
        for topic in TOPICS:
            group.create_task(relay(topic))
        await asyncio.sleep(0)  # subscribed before anything is published
        group.create_task(watcher.run())


async def _run_live(watcher: Monitor) -> None:
    from rich.live import Live

    task = asyncio.create_task(watcher.run())
    with Live(view(watcher), refresh_per_second=4, transient=False) as live:
        try:
            while not task.done():
                await asyncio.sleep(REFRESH)
                live.update(view(watcher))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    task.result()


def view(watcher: Monitor) -> RenderableType:
    """The live view: rates and lag per provider, lifecycle counts, backlog, notable txs."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table

    stats = watcher.stats()
    head = stats.head if stats.head is not None else "-"
    summary = Table.grid(padding=(0, 2))
    summary.add_row(
        f"[bold]{stats.chain}[/] head {head}",
        f"{stats.ingested_per_second:,.1f} tx/s",
        f"pending {stats.pending:,}",
        " ".join(f"{k} {v:,}" for k, v in sorted(stats.statuses.items()) if k != "pending"),
        f"malformed {stats.malformed:,}",
        f"MEV bundles {stats.mev_bundles}",
    )
    providers = Table("provider", "delivered", "first", "malformed", "silent s", "reconnects")
    for label, p in stats.providers.items():
        silent = f"{p.silent_for:.1f}" if p.silent_for is not None else "-"
        providers.add_row(
            label, f"{p.delivered:,}", f"{p.first:,}", str(p.malformed), silent, str(p.reconnects)
        )
    parts: list[RenderableType] = [summary, providers]
    if stats.simulation is not None:
        sim = stats.simulation
        backlog = sim.backlog
        tightened = f", tightened to rank ≥ {backlog.tightened_to}" if backlog.tightened_to else ""
        p50 = f"{sim.latency_ms_p50:.0f}" if sim.latency_ms_p50 is not None else "-"
        p99 = f"{sim.latency_ms_p99:.0f}" if sim.latency_ms_p99 is not None else "-"
        parts.append(
            f"simulate {escape(sim.filter)!r}: {sim.simulated:,} done, {sim.failed} failed, "
            f"{sim.timed_out} over deadline; latency p50 {p50} ms p99 {p99} ms; backlog "
            f"{backlog.size}/{backlog.capacity}, shed {backlog.shed:,}{tightened}"
        )
    notable = Table("age s", "tx", "status", "why", title="notable", title_justify="left")
    now = time.time()
    for alert in reversed(stats.notable[-10:]):
        notable.add_row(f"{now - alert['at']:.0f}", alert["hash"], alert["status"], alert["reason"])
    parts.append(notable)
    return Group(*parts)
