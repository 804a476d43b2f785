"""`timemachine demo`: the devnet, every bundled scenario replayed, analysed and explained, each
one also captured as a capsule and replayed offline, and a summary."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from timemachine.analysis import analyze
from timemachine.catalog.models import ScenarioRecord
from timemachine.devnet import run_devnet
from timemachine.machine import TimeMachine, replay_capsule_async
from timemachine.models import ReplayResult
from timemachine.models.analysis import AnalysisReport, Finding, severity_rank


@dataclass(frozen=True)
class ScenarioRun:
    record: ScenarioRecord
    replay: ReplayResult
    capsule: ReplayResult
    analysis: AnalysisReport

    @property
    def top_finding(self) -> Finding | None:
        return self.analysis.findings[0] if self.analysis.findings else None


@dataclass(frozen=True)
class DemoRun:
    scenarios: list[ScenarioRun]
    busy_exact: ReplayResult
    busy_quick: ReplayResult

    @property
    def faithful(self) -> bool:
        """Every exploit, its offline capsule, and the busy-block tx replayed exactly."""
        results = [r for s in self.scenarios for r in (s.replay, s.capsule)] + [self.busy_exact]
        return all(result.fidelity.verdict == "exact" for result in results)


async def run_demo(*, as_json: bool, max_depth: int | None) -> bool:
    """Run the demo and print it; True when every replay that should be exact is."""
    from timemachine.cli.output import print_replay, render_findings

    console = Console(stderr=as_json)
    with console.status("starting the devnet, building its history, replaying…"):
        async with run_devnet() as net, TimeMachine(net.rpc_url) as machine:
            scenarios = []
            for record in net.history.scenarios:
                replay = await machine.replay(record.exploit_tx)
                capsule = await machine.export_capsule(record.exploit_tx)
                offline = await replay_capsule_async(capsule, forks=machine.forks)
                scenarios.append(ScenarioRun(record, replay, offline, analyze(replay)))
            run = DemoRun(
                scenarios=scenarios,
                busy_exact=await machine.replay(net.history.busy_tx),
                busy_quick=await machine.replay(net.history.busy_tx, mode="quick"),
            )
    if as_json:
        print(json.dumps(_as_json(run), indent=2))  # noqa: T201 - CLI output
        return run.faithful
    labels = net.history.labels
    for scenario in run.scenarios:
        console.rule(f"[bold]{scenario.record.title}[/] ({scenario.record.id})")
        print_replay(scenario.replay, labels=labels, max_depth=max_depth, console=console)
        console.print(render_findings(scenario.analysis))
    console.rule("[bold]A transaction in the middle of a busy block[/]")
    print_replay(run.busy_exact, labels=labels, max_depth=1, console=console)
    console.print(_summary(run))
    console.print(_findings_summary(run))
    return run.faithful


def _summary(run: DemoRun) -> Table:
    table = Table(title="Replays", title_justify="left")
    for column in ("what", "block/idx", "how", "gas used", "verdict", "seconds"):
        table.add_column(column, no_wrap=True)
    rows: list[tuple[str, str, ReplayResult]] = []
    for scenario in run.scenarios:
        rows.append((scenario.record.id, "fork", scenario.replay))
        rows.append((scenario.record.id, "capsule", scenario.capsule))
    rows.append(("busy block", "fork", run.busy_exact))
    rows.append(("busy block", "fork, quick", run.busy_quick))
    for name, how, result in rows:
        colour = "green" if result.fidelity.verdict == "exact" else "red"
        table.add_row(
            name,
            f"{result.block_number}/{result.tx_index}",
            how,
            f"{result.replayed.gas_used:,}",
            f"[{colour}]{result.fidelity.verdict}[/]",
            f"{result.timings['total']:.2f}",
        )
    return table


def _findings_summary(run: DemoRun) -> Table:
    """Top finding per scenario against its ground truth: an exploit's top finding must have its
    class; a benign control may have nothing above "low". Loss and attacker gain in ETH."""
    table = Table(title="Analysis", title_justify="left")
    for column in ("scenario", "top finding"):
        table.add_column(column, overflow="fold")
    for column in ("", "severity", "loss ETH", "gain ETH"):
        table.add_column(column, no_wrap=True, justify="right" if "ETH" in column else "left")
    for scenario in run.scenarios:
        top = scenario.top_finding
        profit = scenario.analysis.profit
        if scenario.record.benign:
            loud = top is not None and severity_rank(top.severity) < severity_rank("low")
            verdict = "[red]✗ control flagged[/]" if loud else "[green]✓[/]"
        else:
            expected = scenario.record.vulnerability_class
            right = top is not None and top.vulnerability_class.value == expected
            verdict = "[green]✓[/]" if right else f"[red]✗ expected {expected}[/]"
        table.add_row(
            scenario.record.id,
            top.vulnerability_class.value if top else "none",
            verdict,
            top.severity if top else "-",
            f"{profit.total_loss_eth / 10**18:,.4f}" if profit.total_loss_eth else "-",
            f"{profit.net_gain_eth / 10**18:,.4f}" if not scenario.record.benign else "-",
        )
    return table


def _brief(result: ReplayResult) -> dict[str, Any]:
    return {
        "tx": result.tx_hash,
        "block_number": result.block_number,
        "tx_index": result.tx_index,
        "mode": result.mode,
        "verdict": result.fidelity.verdict,
        "differences": [d.model_dump(mode="json") for d in result.fidelity.differences],
        "gas_used": result.replayed.gas_used,
        "rpc_requests": result.rpc_requests,
        "balance_changes": [c.model_dump(mode="json") for c in result.balance_changes],
    }


def _as_json(run: DemoRun) -> dict[str, Any]:
    return {
        "scenarios": [
            {
                "id": s.record.id,
                "title": s.record.title,
                "benign": s.record.benign,
                "expected_class": "none" if s.record.benign else s.record.vulnerability_class,
                "exploit_tx": s.record.exploit_tx,
                "findings": [
                    {
                        "class": f.vulnerability_class.value,
                        "severity": f.severity,
                        "confidence": f.confidence,
                    }
                    for f in s.analysis.findings
                ],
                "profit": s.analysis.profit.model_dump(mode="json"),
                "replay": _brief(s.replay),
                "capsule": _brief(s.capsule),
            }
            for s in run.scenarios
        ],
        "busy_block": {"exact": _brief(run.busy_exact), "quick": _brief(run.busy_quick)},
    }
