"""`timemachine demo --monitor`: the mempool monitor on the devnet, offline.

The devnet is forked right before its latest exploit scenario, with mining paused; a traffic
generator sends a realistic mix to the pool (transfers, swaps, a sandwich attempt around a
user's swap, and the scenario's recorded exploit transaction); the monitor ingests, enriches and
simulates them while they are pending, and the issue's example rule (`stage == "pending" and
finding.severity >= "high"`) raises its alert; then one block is mined and the monitor follows
them in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from timemachine.bus import LocalBus, topics
from timemachine.catalog.devnet import actor_account, actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet, run_devnet
from timemachine.forks.manager import ForkManager
from timemachine.monitor.alerting import RuleFeed, running_rules
from timemachine.monitor.models import MonitoredTx
from timemachine.monitor.setup import MonitorOptions, PausedChain, monitor_paused_fork
from timemachine.monitor.traffic import CALL_GAS, GWEI, calldata
from timemachine.rules import load_text
from timemachine.runtime import default_decoder
from timemachine.security.outbound import OutboundPolicy
from timemachine.store import open_database

ETHER = 10**18
USD = 10**6
WAIT = 120.0
DEMO_RULES = """
rules:
  - id: exploit-before-inclusion
    when: 'stage == "pending" and finding.severity >= "high"'
    severity: critical
"""


@dataclass(frozen=True)
class Sent:
    what: str
    hash: str


def _address(labels: dict[str, str], label: str) -> str:
    return next(address for address, name in labels.items() if name == label)


async def _send_mix(chain: PausedChain, net: Devnet, exploit: ScenarioRecord) -> list[Sent]:
    """Transfers, a swap, a sandwich attempt and the exploit, into the paused pool."""
    traffic, labels = chain.traffic, net.history.labels
    router, weth = _address(labels, "SwapRouter"), _address(labels, "WrappedEther")
    usdx = _address(labels, "MarketToken")
    account = actor_account
    deposit = calldata("deposit()", [], [])
    transfer = calldata(
        "transfer(address,uint256)", ["address", "uint256"], [actor_address("bob"), 5_000 * USD]
    )
    setup = [
        await traffic.send(account("alice"), weth, value=3 * ETHER, data=deposit, gas=CALL_GAS),
        await traffic.approve(account("alice"), weth, router, 2**256 - 1),
        await traffic.send(account("deployer"), usdx, data=transfer, gas=CALL_GAS),
        await traffic.approve(account("bob"), usdx, router, 2**256 - 1),
    ]
    # Mine only once their simulations are done: anvil can stall for good when it mines while
    # a fork of it (the simulator's) is still reading state from it (seen: ~1 run in 5).
    await _until(lambda: _every(chain, setup, lambda r: r.simulation), "the setup simulations")
    await chain.mine()  # the traders' funds and approvals, one block before the show
    await _until(lambda: _every(chain, setup, lambda r: r.status == "included"), "the setup block")
    sent = [
        Sent("transfer", await traffic.transfer(account("erin"), actor_address("frank"), ETHER)),
        Sent("transfer", await traffic.transfer(account("grace"), actor_address("heidi"), ETHER)),
        Sent(
            "swap",
            await traffic.swap(account("bob"), router, [usdx, weth], 1_000 * USD, tip=GWEI // 2),
        ),
    ]
    front = 20 * ETHER
    quote = await traffic.rpc.call(
        "eth_call",
        [
            {
                "to": router,
                "data": "0x"
                + calldata(
                    "getAmountsOut(uint256,address[])",
                    ["uint256", "address[]"],
                    [front, [weth, usdx]],
                ).hex(),
            },
            "latest",
        ],
    )
    bought = int(quote[-64:], 16)
    legs = await traffic.sandwich(
        account("deployer"),
        account("alice"),
        router,
        [weth, usdx],
        front=front,
        victim_amount=ETHER,
        back=bought,
    )
    sent += [
        Sent(what, tx)
        for what, tx in zip(("front-run", "victim swap", "back-run"), legs, strict=True)
    ]
    async with RpcClient(net.rpc_url) as devnet:
        raw = await devnet.call("eth_getRawTransactionByHash", [exploit.exploit_tx])
    sent.append(Sent(f"exploit ({exploit.id})", await traffic.send_raw(raw)))
    return sent


def _every(chain: PausedChain, hashes: list[str], check: Any) -> bool:
    """Whether the monitor follows every one of `hashes` and `check` holds for each record."""
    records = [chain.monitor.lifecycle.get(tx_hash) for tx_hash in hashes]
    return all(record is not None and check(record) for record in records)


async def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the demo waited {WAIT:g} s for {what}")
        await asyncio.sleep(0.05)


def _top(record: MonitoredTx | None) -> str:
    simulation = record.simulation if record is not None else None
    if simulation is None:
        return "-"
    if simulation.error:
        return f"not simulated: {simulation.error}"
    top = simulation.top_finding
    outcome = "ok" if simulation.success else f"reverts ({simulation.revert_reason})"
    finding = f"{top.severity} {top.vulnerability_class.value}" if top else "no finding"
    return f"{outcome}, {finding} ({simulation.latency_ms:.0f} ms)"


async def run_monitor_demo(*, as_json: bool) -> bool:
    """Run the mempool demo; True when the exploit was flagged while pending, then included."""
    from timemachine.cli.output import heading, terminal_console

    console = terminal_console(stderr=as_json)
    bus = LocalBus()
    events: list[dict[str, Any]] = []

    async def collect(topic: str) -> None:
        async for event in bus.subscribe(topic):
            events.append({"topic": topic, **event})
            if as_json:
                print(json.dumps(events[-1], default=str))  # noqa: T201 - CLI output
            elif topic in (topics.ALERTS, topics.MEV_BUNDLES, topics.BLOCKS):
                console.print(f"[bold]{topic}[/] {_line(event)}")

    forks = ForkManager()
    listeners = [asyncio.create_task(collect(topic)) for topic in topics.TOPICS]
    try:
        with console.status("starting the devnet and building its history…"):
            net_context = run_devnet()
            net = await net_context.__aenter__()
        try:
            exploit = next(r for r in reversed(net.history.scenarios) if not r.benign)
            options = MonitorOptions(
                simulate="all", labels=net.history.labels, watch=tuple(exploit.victims)
            )
            async with (
                _demo_rules(bus, net.history.chain_id) as feed,
                monitor_paused_fork(
                    net.rpc_url,
                    exploit.block_number - 1,
                    forks=forks,
                    decoder=default_decoder(),
                    bus=bus,
                    options=options,
                    hook=feed,
                ) as chain,
            ):
                monitor = chain.monitor
                heading(
                    console,
                    f"mining paused at block {monitor.head.number if monitor.head else '?'}",
                )
                sent = await _send_mix(chain, net, exploit)
                attack = sent[-1].hash
                hashes = [item.hash for item in sent]
                await _until(
                    lambda: _every(chain, hashes, lambda r: r.simulation), "every simulation"
                )
                pending = monitor.lifecycle.get(attack)
                flagged = (
                    pending is not None
                    and pending.status == "pending"
                    and pending.simulation is not None
                    and pending.simulation.top_finding is not None
                    and pending.simulation.top_finding.vulnerability_class.value
                    == exploit.vulnerability_class
                )
                console.print(
                    f"[bold]{'✓' if flagged else '✗'} exploit flagged while pending:[/] "
                    f"{_top(pending)}"
                )
                fired = [a for a in feed.alerts if a.tx_hash == attack and a.stage == "pending"]
                console.print(
                    f"[bold]{'✓' if fired else '✗'} rule alert while pending:[/] "
                    + (f"{fired[0].rule_id} ({fired[0].severity})" if fired else "none")
                )
                block = await chain.mine()
                await _until(
                    lambda: _every(chain, hashes, lambda r: r.status != "pending"), "inclusion"
                )
                await asyncio.sleep(0.5)  # the block's MEV inspection follows its head
                included = monitor.lifecycle.get(attack)
                in_block = included is not None and included.block_number == block
                if not as_json:
                    console.print(_table(monitor, sent))
                return flagged and bool(fired) and in_block
        finally:
            await net_context.__aexit__(None, None, None)
    finally:
        for listener in listeners:
            listener.cancel()
        await forks.shutdown()


@contextlib.asynccontextmanager
async def _demo_rules(bus: LocalBus, chain_id: int) -> AsyncIterator[RuleFeed]:
    """The example rule, its alerts stored in a throw-away database (no channel to deliver to)."""
    with tempfile.TemporaryDirectory() as folder:
        database = open_database(f"sqlite:///{Path(folder) / 'alerts.db'}")
        try:
            policy = OutboundPolicy.from_spec("")
            async with running_rules(
                load_text(DEMO_RULES), database, bus, chain_id, policy=policy
            ) as feed:
                yield feed
        finally:
            database.dispose()


def _line(event: dict[str, Any]) -> str:
    if event.get("type") == "rule_alert":
        return f"rule {event['rule_id']} ({event['severity']}) at stage {event['stage']}"
    if event.get("type") == "alert":
        return f"{event['hash'][:18]}… {event['status']}: {event['reason']}"
    if event.get("type") == "mev_bundle":
        return (
            f"{event['kind']} by {event.get('sandwicher_address') or event.get('account_address')}"
        )
    return f"{event.get('number')} with {event.get('transactions')} txs"


def _table(monitor: Any, sent: list[Sent]) -> Table:
    table = Table(title="The pool, then the block", title_justify="left")
    for column in ("sent", "tx", "kind", "simulated while pending", "status", "block/pos"):
        table.add_column(column, overflow="fold")
    for item in sent:
        record = monitor.lifecycle.get(item.hash)
        where = (
            f"{record.block_number}/{record.position}" if record and record.block_number else "-"
        )
        table.add_row(
            item.what,
            item.hash[:18] + "…",
            record.enrichment.kind if record else "?",
            _top(record),
            record.status if record else "unseen",
            where,
        )
    return table
