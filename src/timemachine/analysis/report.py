"""Render an `AnalysisReport` as Markdown (JSON is the model itself)."""

from __future__ import annotations

from timemachine.models.analysis import AnalysisReport, AssetAmount, AssetValue, ProfitReport
from timemachine.trace.formatting import format_units


def _amount(asset: str, amount: int) -> str:
    """ETH as ether with the exact wei; tokens as base units."""
    if asset == "ETH":
        return f"{format_units(amount, 18)} ETH ({amount} wei)"
    return f"{amount} of {asset}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _totals(entries: list[AssetAmount]) -> str:
    return ", ".join(_amount(entry.asset, entry.amount) for entry in entries) or "nothing"


def _ether(amount: int | None) -> str:
    return "unpriced" if amount is None else f"{format_units(amount, 18)} ETH"


def _basis(value: AssetValue) -> str:
    if value.basis == "pair":
        return (
            f"pair {value.pair}: {value.reserve_native} wei / {value.reserve_token} units "
            "before the tx"
        )
    return value.basis or "no pair with the wrapped native token in the trace"


def value_lines(profit: ProfitReport) -> list[str]:
    """The profit section's ETH lines and per-asset value table (Markdown)."""
    if not profit.values:
        return []
    lines = [
        f"- Net gain in ETH (priced assets): {_ether(profit.net_gain_eth)}",
        f"- Victims' loss in ETH (priced assets): {_ether(profit.total_loss_eth)}",
    ]
    if profit.unpriced:
        lines.append(f"- Unpriced (not in the ETH totals): {', '.join(profit.unpriced)}")
    lines += [
        "",
        "| Asset | Net gain | Loss | Net gain in ETH | Loss in ETH | Priced by |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {value.asset} | {value.net_gain} | {value.loss} | {_ether(value.net_gain_eth)} | "
        f"{_ether(value.loss_eth)} | {_cell(_basis(value))} |"
        for value in profit.values
    ]
    return lines


def render_markdown(report: AnalysisReport) -> str:
    """Findings table, each finding's explanation and evidence, profit, balances, fund flow."""
    lines = [
        f"# Analysis of {report.tx_hash}",
        "",
        f"- Chain: {report.chain} ({report.chain_id}), block {report.block_number}",
        f"- From {report.sender} to {report.to or '(contract creation)'}",
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
                f"{finding.confidence:.2f} | {_cell(finding.title)} |"
            )
        for number, finding in enumerate(report.findings, 1):
            evidence = finding.evidence
            lines += ["", f"### {number}. {finding.title}", "", finding.explanation, ""]
            lines.append(f"**Recommendation.** {finding.recommendation}")
            lines.append("")
            if evidence.form:
                lines.append(f"- Form: {evidence.form}")
            lines += [f"- Signal: {signal}" for signal in evidence.signals]
            if evidence.frames:
                lines.append(f"- Frames: {', '.join(f'`{path}`' for path in evidence.frames)}")
            if evidence.selectors:
                lines.append(f"- Selectors: {', '.join(evidence.selectors)}")
            lines += [f"- Digest: `{digest}`" for digest in evidence.digests]
            lines += [
                f"- Slot `{slot.slot}` of {slot.address}: `{slot.before}` → `{slot.after}`"
                for slot in evidence.storage
            ]
            lines += [
                f"- Amount: {entry.address}: {_amount(entry.asset, entry.amount)}"
                for entry in evidence.amounts
            ]
    profit = report.profit
    lines += ["", "## Profit and loss", ""]
    lines.append(f"- Attacker-controlled: {', '.join(profit.attackers)}")
    lines.append(f"- Net gain (after gas): {_totals(profit.net_gain)}")
    if profit.gas_fee_wei is not None:
        lines.append(f"- Gas paid by the sender: {_amount('ETH', profit.gas_fee_wei)}")
    lines.append(f"- Victims' loss: {_totals(profit.total_loss)}")
    for row in profit.losses:
        lines.append(f"  - {row.address}: {_totals(row.assets)}")
    lines += value_lines(profit)
    lines += ["", "## Balance changes", ""]
    if report.balance_changes:
        lines += ["| Address | Asset | Change |", "|---|---|---|"]
        for change in report.balance_changes:
            asset = change.symbol or change.asset
            delta = format_units(change.delta, change.decimals)
            if change.logged_delta is not None:
                logged = format_units(change.logged_delta, change.decimals)
                delta += f" (Transfer events claim {logged})"
            lines.append(f"| {change.address} | {_cell(asset)} | {delta} |")
    else:
        lines.append("None.")
    lines += ["", "## Fund flow", ""]
    if report.fund_flow.edges:
        lines += ["| From | To | Asset | Amount | Transfers |", "|---|---|---|---|---|"]
        for edge in report.fund_flow.edges:
            amount = format_units(edge.amount, 18) if edge.asset == "ETH" else str(edge.amount)
            lines.append(
                f"| {edge.source} | {edge.target} | {edge.asset} | {amount} | {edge.transfers} |"
            )
    else:
        lines.append("No value moved.")
    return "\n".join(lines) + "\n"
