"""`timemachine demo`: the devnet, every bundled scenario replayed, analysed and explained, each
one also captured as a capsule and replayed offline, the MEV scenarios' blocks replayed and
inspected for MEV against their ground truth, and a summary."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from timemachine.analysis import analyze
from timemachine.catalog.models import ScenarioRecord
from timemachine.devnet import run_devnet
from timemachine.machine import TimeMachine, replay_capsule_async
from timemachine.mev.models import BlockInspection
from timemachine.mev.truth import truth_mismatches
from timemachine.models import ReplayResult
from timemachine.models.analysis import AnalysisReport, Finding, severity_rank
from timemachine.orchestration.mev_replay import inspect_replayed_block


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
class MevRun:
    """An MEV scenario's whole block, replayed and inspected, against its ground truth."""

    record: ScenarioRecord
    inspection: BlockInspection

    @property
    def mismatches(self) -> list[str]:
        return truth_mismatches(self.inspection, self.record.expected_mev)


@dataclass(frozen=True)
class DemoRun:
    scenarios: list[ScenarioRun]
    busy_exact: ReplayResult
    busy_quick: ReplayResult
    mev: list[MevRun]

    @property
    def faithful(self) -> bool:
        """Every exploit, its offline capsule, and the busy-block tx replayed exactly, and every
        MEV scenario's block inspected exactly as its ground truth says."""
        results = [r for s in self.scenarios for r in (s.replay, s.capsule)] + [self.busy_exact]
        exact = all(result.fidelity.verdict == "exact" for result in results)
        return exact and not any(run.mismatches for run in self.mev)


async def run_demo(*, as_json: bool, max_depth: int | None) -> bool:
    """Run the demo and print it; True when every replay that should be exact is."""
    from timemachine.cli.output import heading, print_replay, render_findings, terminal_console

    console = terminal_console(stderr=as_json)
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
                mev=[
                    MevRun(record, await inspect_replayed_block(machine, record.block_number))
                    for record in net.history.scenarios
                    if record.expected_mev
                ],
            )
    if as_json:
        print(json.dumps(_as_json(run), indent=2))  # noqa: T201 - CLI output
        return run.faithful
    labels = net.history.labels
    for scenario in run.scenarios:
        heading(console, f"[bold]{scenario.record.title}[/] ({scenario.record.id})")
        print_replay(scenario.replay, labels=labels, max_depth=max_depth, console=console)
        console.print(render_findings(scenario.analysis))
    heading(console, "[bold]A transaction in the middle of a busy block[/]")
    print_replay(run.busy_exact, labels=labels, max_depth=1, console=console)
    console.print(_summary(run))
    console.print(_findings_summary(run))
    console.print(_mev_summary(run, labels))
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


MEV_SEARCHER = {
    "sandwiches": "sandwicher_address",
    "arbitrages": "account_address",
    "liquidations": "liquidator_user",
    "jit_liquidity": "bot_address",
}


def _mev_found(kind: str, item: dict[str, Any], labels: dict[str, str]) -> str:
    """One MEV object in a few words: its searcher and what it made or moved."""

    def name(address: str | None) -> str:
        if address is None:
            return "-"
        return next((n for a, n in labels.items() if a.lower() == address.lower()), address)

    searcher = name(item.get(MEV_SEARCHER[kind]))
    if kind in ("sandwiches", "arbitrages"):
        token = name(item["profit_token_address"])
        return f"{searcher}: profit {item['profit_amount']:,} {token} units"
    if kind == "liquidations":
        return (
            f"{searcher}: repaid {item['debt_purchase_amount']:,} "
            f"{name(item['debt_token_address'])}, received {item['received_amount']:,} "
            f"{name(item['received_token_address'])} units"
        )
    return (
        f"{searcher}: minted {item['mint_token0_amount']:,}/{item['mint_token1_amount']:,}, "
        f"burned {item['burn_token0_amount']:,}/{item['burn_token1_amount']:,} in "
        f"{name(item['pool_address'])}"
    )


def _mev_summary(run: DemoRun, labels: dict[str, str]) -> Table:
    """MEV found in each MEV scenario's replayed block, beside its ground truth."""
    table = Table(title="MEV inspection of replayed blocks", title_justify="left")
    for column in ("scenario", "block", "type", "found", "truth"):
        table.add_column(column, overflow="fold", no_wrap=column in ("block", "truth"))
    for mev in run.mev:
        found = mev.inspection.model_dump(mode="json")
        for kind in mev.record.expected_mev:
            items = found[kind] or [{}]
            for item in items:
                table.add_row(
                    mev.record.id,
                    str(mev.record.block_number),
                    kind,
                    _mev_found(kind, item, labels) if item else "nothing",
                    "[red]✗ differs from ground truth[/]" if mev.mismatches else "[green]✓[/]",
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
        "mev": [
            {
                "id": mev.record.id,
                "block_number": mev.record.block_number,
                "expected": mev.record.expected_mev,
                "found": mev.inspection.model_dump(mode="json", exclude={"swaps"}),
                "matches_ground_truth": not mev.mismatches,
                "mismatches": mev.mismatches,
            }
            for mev in run.mev
        ],
    }
