"""`timemachine demo`: the devnet, every bundled exploit replayed and explained, and a summary."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from timemachine.forks.devnet import run_devnet
from timemachine.machine import TimeMachine
from timemachine.models import ReplayResult


async def run_demo(*, as_json: bool, max_depth: int | None) -> bool:
    """Replay every scenario's exploit plus the busy-block transaction; True when all are exact."""
    from timemachine.cli.output import print_replay

    console = Console(stderr=as_json)
    with console.status("starting the devnet and building its history…"):
        async with run_devnet() as net, TimeMachine(net.rpc_url) as machine:
            exploits = [
                (record, await machine.replay(record.exploit_tx))
                for record in net.history.scenarios
            ]
            busy_exact = await machine.replay(net.history.busy_tx)
            busy_quick = await machine.replay(net.history.busy_tx, mode="quick")
    labels = net.history.labels
    if as_json:
        print_json(exploits, busy_exact, busy_quick)
    else:
        for record, result in exploits:
            console.rule(f"[bold]{record.title}[/] ({record.id})")
            print_replay(result, labels=labels, max_depth=max_depth, console=console)
        console.rule("[bold]A transaction in the middle of a busy block[/]")
        print_replay(busy_exact, labels=labels, max_depth=1, console=console)
        console.print(_summary(exploits, busy_exact, busy_quick))
    return all(r.fidelity.verdict == "exact" for _, r in exploits) and (
        busy_exact.fidelity.verdict == "exact"
    )


def _summary(
    exploits: list[tuple[Any, ReplayResult]], busy_exact: ReplayResult, busy_quick: ReplayResult
) -> Table:
    table = Table(title="Replays", title_justify="left")
    for column in ("what", "tx", "block/index", "mode", "gas used", "verdict", "seconds"):
        table.add_column(column)
    rows = [(record.id, result) for record, result in exploits]
    rows += [("busy block", busy_exact), ("busy block (quick)", busy_quick)]
    for name, result in rows:
        colour = "green" if result.fidelity.verdict == "exact" else "red"
        table.add_row(
            name,
            result.tx_hash[:10] + "…",
            f"{result.block_number}/{result.tx_index}",
            result.mode,
            f"{result.replayed.gas_used:,}",
            f"[{colour}]{result.fidelity.verdict}[/]",
            f"{result.timings['total']:.2f}",
        )
    return table


def print_json(
    exploits: list[tuple[Any, ReplayResult]], busy_exact: ReplayResult, busy_quick: ReplayResult
) -> None:
    def summary(result: ReplayResult) -> dict[str, Any]:
        return {
            "tx": result.tx_hash,
            "block_number": result.block_number,
            "tx_index": result.tx_index,
            "mode": result.mode,
            "verdict": result.fidelity.verdict,
            "differences": [d.model_dump(mode="json") for d in result.fidelity.differences],
            "gas_used": result.replayed.gas_used,
            "balance_changes": [c.model_dump(mode="json") for c in result.balance_changes],
        }

    payload = {
        "scenarios": [
            {"id": record.id, "title": record.title, "exploit_tx": record.exploit_tx}
            | {"replay": summary(result)}
            for record, result in exploits
        ],
        "busy_block": {"exact": summary(busy_exact), "quick": summary(busy_quick)},
    }
    print(json.dumps(payload, indent=2))  # noqa: T201 - CLI output
