"""Render an `AnalysisReport` as Markdown (JSON is the model itself)."""

from __future__ import annotations

from timemachine.models.analysis import (
    AnalysisReport,
    AssetAmount,
    AssetValue,
    Finding,
    ProfitReport,
)
from timemachine.trace.formatting import format_units
from timemachine.trace.naming import Naming, group_digits


def _amount(naming: Naming, asset: str, amount: int) -> str:
    """`1.5 ETH`, `35,000 USDX` (base units with the token address only when unknown)."""
    return naming.amount(asset, amount)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _totals(naming: Naming, entries: list[AssetAmount]) -> str:
    return ", ".join(naming.amount(entry.asset, entry.amount) for entry in entries) or "nothing"


def _ether(amount: int | None) -> str:
    return "unpriced" if amount is None else f"{group_digits(format_units(amount, 18))} ETH"


def _basis(value: AssetValue) -> str:
    if value.basis == "pair":
        return (
            f"pair {value.pair}: {value.reserve_native} wei / {value.reserve_token} units "
            "before the tx"
        )
    return value.basis or "no pair with the wrapped native token in the trace"


def value_lines(profit: ProfitReport, naming: Naming | None = None) -> list[str]:
    """The profit section's ETH lines and per-asset value table (Markdown)."""
    if not profit.values:
        return []
    naming = naming or Naming()
    lines = [
        f"- Net gain in ETH (priced assets): {_ether(profit.net_gain_eth)}",
        f"- Victims' loss in ETH (priced assets): {_ether(profit.total_loss_eth)}",
    ]
    if profit.unpriced:
        unpriced = ", ".join(naming.symbol(asset) for asset in profit.unpriced)
        lines.append(f"- Unpriced (not in the ETH totals): {unpriced}")
    lines += [
        "",
        "| Asset | Net gain | Loss | Net gain in ETH | Loss in ETH | Priced by |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {naming.symbol(value.asset)} | {naming.units(value.asset, value.net_gain)} | "
        f"{naming.units(value.asset, value.loss)} | {_ether(value.net_gain_eth)} | "
        f"{_ether(value.loss_eth)} | {_cell(_basis(value))} |"
        for value in profit.values
    ]
    return lines


def _finding_lines(number: int, finding: Finding, naming: Naming) -> list[str]:
    """One finding's section: title, explanation, recommendation, evidence; names annotated."""
    name = naming.address
    evidence = finding.evidence
    lines = ["", f"### {number}. {naming.annotate(finding.title)}", ""]
    lines += [naming.annotate(finding.explanation), ""]
    lines += [f"**Recommendation.** {finding.recommendation}", ""]
    if evidence.form:
        lines.append(f"- Form: {evidence.form}")
    lines += [f"- Signal: {naming.annotate(signal)}" for signal in evidence.signals]
    if evidence.frames:
        lines.append(f"- Frames: {', '.join(f'`{path}`' for path in evidence.frames)}")
    if evidence.selectors:
        lines.append(f"- Selectors: {', '.join(evidence.selectors)}")
    lines += [f"- Digest: `{digest}`" for digest in evidence.digests]
    lines += [
        f"- Slot `{slot.slot}` of {name(slot.address)}: `{slot.before}` → `{slot.after}`"
        for slot in evidence.storage
    ]
    lines += [
        f"- Amount: {name(entry.address)}: {_amount(naming, entry.asset, entry.amount)}"
        for entry in evidence.amounts
    ]
    return lines


def render_markdown(report: AnalysisReport) -> str:
    """Findings table, each finding's explanation and evidence, profit, balances, fund flow.

    Addresses carry their names and amounts their symbols (`report.names`)."""
    naming = Naming.from_names(report.names)
    name = naming.address
    lines = [
        f"# Analysis of {report.tx_hash}",
        "",
        f"- Chain: {report.chain} ({report.chain_id}), block {report.block_number}",
        f"- From {name(report.sender)} to "
        + (name(report.to) if report.to else "(contract creation)"),
        f"- Status: {'success' if report.status == 1 else 'reverted'}, gas used {report.gas_used}",
        f"- Replay fidelity: {report.fidelity}",
        "",
        "## Findings",
        "",
    ]
    if not report.findings:
        lines.append("No detector reported anything.")
    else:
        lines += [
            "| # | Class | Severity | Confidence | Title |",
            "|---|---|---|---|---|",
        ]
        for number, finding in enumerate(report.findings, 1):
            lines.append(
                f"| {number} | {finding.vulnerability_class.value} | {finding.severity} | "
                f"{finding.confidence:.2f} | {_cell(naming.annotate(finding.title))} |"
            )
        for number, finding in enumerate(report.findings, 1):
            lines += _finding_lines(number, finding, naming)
    profit = report.profit
    lines += ["", "## Profit and loss", ""]
    lines.append(f"- Attacker-controlled: {', '.join(map(name, profit.attackers))}")
    lines.append(f"- Net gain (after gas): {_totals(naming, profit.net_gain)}")
    if profit.gas_fee_wei is not None:
        gas = profit.gas_fee_wei
        lines.append(f"- Gas paid by the sender: {_amount(naming, 'ETH', gas)} ({gas:,} wei)")
    lines.append(f"- Victims' loss: {_totals(naming, profit.total_loss)}")
    for row in profit.losses:
        lines.append(f"  - {name(row.address)}: {_totals(naming, row.assets)}")
    lines += value_lines(profit, naming)
    lines += ["", "## Balance changes", ""]
    if report.balance_changes:
        lines += ["| Address | Asset | Change |", "|---|---|---|"]
        for change in report.balance_changes:
            asset = naming.symbol(change.asset)
            delta = naming.units(change.asset, change.delta)
            if change.logged_delta is not None:
                logged = naming.units(change.asset, change.logged_delta)
                delta += f" (Transfer events claim {logged})"
            lines.append(f"| {_cell(name(change.address))} | {_cell(asset)} | {delta} |")
    else:
        lines.append("None.")
    lines += ["", "## Fund flow", ""]
    if report.fund_flow.edges:
        lines += ["| From | To | Asset | Amount | Transfers |", "|---|---|---|---|---|"]
        for edge in report.fund_flow.edges:
            lines.append(
                f"| {_cell(name(edge.source))} | {_cell(name(edge.target))} | "
                f"{_cell(naming.symbol(edge.asset))} | {naming.units(edge.asset, edge.amount)} | "
                f"{edge.transfers} |"
            )
    else:
        lines.append("No value moved.")
    return "\n".join(lines) + "\n"
