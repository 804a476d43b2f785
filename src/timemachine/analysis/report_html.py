"""Render an `AnalysisReport` (and the replay it came from) as one self-contained HTML file.

No external CSS, JavaScript, fonts or images: the file works offline and can be attached to an
incident ticket. The markup is XHTML-compatible (every element closed, only XML's own entities), so
`xml.etree` can parse it. Everything that comes from chain data (addresses, decoded strings, revert
reasons, event arguments, labels) goes through `_esc`, which HTML-escapes it and drops control
characters that XML forbids.
"""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.analysis.html_views import (
    VIEW_CSS,
    VIEW_SCRIPT,
    Roles,
    call_tree,
    frame_anchor,
    fund_flow_steps,
    gas_profile,
    storage_changes,
)
from timemachine.analysis.html_views import esc as _esc
from timemachine.analysis.html_views import table as _table
from timemachine.models.analysis import (
    AddressAssets,
    AnalysisReport,
    AssetAmount,
    AssetValue,
    Finding,
)
from timemachine.models.compare import BalanceDiff, Comparison, SwapDiff
from timemachine.models.replay import ReplayResult
from timemachine.models.trace import BalanceChange
from timemachine.trace.formatting import format_units
from timemachine.trace.naming import Naming, group_digits

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.4em; word-break: break-all; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.8em; }
code, pre, .mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .9em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f5; }
td.num { text-align: right; font-family: ui-monospace, Menlo, Consolas, monospace; }
.pos { color: #137333; } .neg { color: #b3261e; }
.finding { border: 1px solid #ddd; border-left: 6px solid #888; padding: .4em 1em; margin: 1em 0; }
.sev-critical { border-left-color: #8b0000; } .sev-high { border-left-color: #d93025; }
.sev-medium { border-left-color: #f29900; } .sev-low { border-left-color: #1a73e8; }
.sev-info { border-left-color: #888; }
.badge { display: inline-block; padding: 0 .5em; border-radius: .6em; background: #eee; }
.verdict-exact { color: #137333; font-weight: bold; }
.verdict-diverged { color: #b3261e; font-weight: bold; }
.verdict-unverified { color: #b06000; font-weight: bold; }
pre.tree { background: #f7f7f9; border: 1px solid #ddd; padding: 1em; overflow-x: auto; }
svg.flow { border: 1px solid #ddd; background: #fcfcfd; max-width: 100%; height: auto; }
svg.flow text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; }
svg.flow .edge { fill: none; stroke: #555; stroke-width: 1.5; }
svg.flow .node circle { stroke: #333; stroke-width: 1.5; fill: #e8eaed; }
svg.flow .node.attacker circle { fill: #f6c7c3; }
svg.flow .node.victim circle { fill: #c8e6c9; }
svg.chart { border: 1px solid #ddd; background: #fcfcfd; max-width: 100%; height: auto; }
svg.chart text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; }
svg.chart .axis { stroke: #888; stroke-width: 1; }
svg.chart .bar.left, .key.left { fill: #1a73e8; background: #1a73e8; }
svg.chart .bar.right, .key.right { fill: #f29900; background: #f29900; }
.key { display: inline-block; width: .9em; height: .9em; margin: 0 .3em 0 .8em; }
"""


def _short(address: str) -> str:
    """`0x1234…abcd` for a 20-byte address; anything else unchanged."""
    if address.startswith("0x") and len(address) == 42:
        return f"{address[:6]}…{address[-4:]}"
    return address


class _Page:
    """Names and amounts for one report's markup (from the report's `names`)."""

    def __init__(self, naming: Naming) -> None:
        self.naming = naming

    def who(self, address: str | None) -> str:
        """The name (when known) and the whole address, escaped."""
        if not address:
            return "(contract creation)"
        name = self.naming.label(address)
        code = f"<code>{_esc(address)}</code>"
        return f"<strong>{_esc(name)}</strong> {code}" if name else code

    def amount(self, asset: str, amount: int) -> str:
        return _esc(self.naming.amount(asset, amount))

    def units(self, asset: str, amount: int | None) -> str:
        return "—" if amount is None else _esc(self.naming.units(asset, amount))

    def symbol(self, asset: str) -> str:
        return _esc(self.naming.symbol(asset))

    def text(self, prose: str) -> str:
        """Detector prose, escaped, with named addresses written `Name (0x…)`."""
        return _esc(self.naming.annotate(prose))


def _header(report: AnalysisReport, result: ReplayResult, page: _Page) -> str:
    fidelity = result.fidelity
    status = "success" if report.status == 1 else "reverted"
    rows = [
        ("Transaction", f"<code>{_esc(report.tx_hash)}</code>"),
        ("Chain", f"{_esc(report.chain)} ({report.chain_id})"),
        ("Block", str(report.block_number)),
        ("Sender", page.who(report.sender)),
        ("To", page.who(report.to)),
        ("Status", f'<span class="{"pos" if report.status == 1 else "neg"}">{status}</span>'),
        ("Gas used", f"{report.gas_used:,}"),
        (
            "Replay fidelity",
            f'<span class="verdict-{_esc(report.fidelity)}">{_esc(report.fidelity)}</span>',
        ),
    ]
    body = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    details = [
        f"<li><code>{_esc(d.field)}</code>: original <code>{_esc(repr(d.original))}</code>, "
        f"replayed <code>{_esc(repr(d.replayed))}</code> ({_esc(d.explanation)})</li>"
        for d in fidelity.differences
    ]
    details += [f"<li>note: {_esc(note)}</li>" for note in fidelity.notes]
    extra = f"<ul>{''.join(details)}</ul>" if details else ""
    return f'<table class="summary fit"><tbody>{body}</tbody></table>{extra}'


def _finding(number: int, finding: Finding, page: _Page) -> str:
    evidence = finding.evidence
    items = [f"<li>Form: {_esc(evidence.form)}</li>"] if evidence.form else []
    items += [f"<li>Signal: {page.text(signal)}</li>" for signal in evidence.signals]
    if evidence.frames:
        frames = ", ".join(
            f'<a href="#{frame_anchor(path)}"><code>{_esc(path)}</code></a>'
            for path in evidence.frames
        )
        items.append(f"<li>Frames: {frames}</li>")
    if evidence.addresses:
        items.append(f"<li>Addresses: {', '.join(page.who(a) for a in evidence.addresses)}</li>")
    if evidence.selectors:
        selectors = ", ".join(f"<code>{_esc(s)}</code>" for s in evidence.selectors)
        items.append(f"<li>Selectors: {selectors}</li>")
    items += [f"<li>Digest: <code>{_esc(digest)}</code></li>" for digest in evidence.digests]
    items += [
        f"<li>Slot <code>{_esc(slot.slot)}</code> of {page.who(slot.address)}: "
        f"<code>{_esc(slot.before)}</code> → <code>{_esc(slot.after)}</code></li>"
        for slot in evidence.storage
    ]
    items += [
        f"<li>Amount: {page.who(entry.address)}: {page.amount(entry.asset, entry.amount)}</li>"
        for entry in evidence.amounts
    ]
    evidence_html = f"<h4>Evidence</h4><ul>{''.join(items)}</ul>" if items else ""
    severity = _esc(finding.severity)
    return (
        f'<div class="finding sev-{severity}">'
        f"<h3>{number}. {page.text(finding.title)}</h3>"
        f'<p><span class="badge">{_esc(finding.vulnerability_class.value)}</span> '
        f'<span class="badge">severity: {severity}</span> '
        f'<span class="badge">confidence: {finding.confidence:.2f}</span> '
        f'<span class="badge">detector: {_esc(finding.detector)}</span></p>'
        f"<p>{page.text(finding.explanation)}</p>"
        f"<p><strong>Recommendation.</strong> {_esc(finding.recommendation)}</p>"
        f"{evidence_html}</div>"
    )


def _findings(report: AnalysisReport, page: _Page) -> str:
    if not report.findings:
        return "<p>No detector reported anything.</p>"
    summary = _table(
        ["#", "Class", "Severity", "Confidence", "Title"],
        (
            [
                str(number),
                _esc(finding.vulnerability_class.value),
                _esc(finding.severity),
                f"{finding.confidence:.2f}",
                page.text(finding.title),
            ]
            for number, finding in enumerate(report.findings, 1)
        ),
        numeric={3},
    )
    details = "".join(
        _finding(number, finding, page) for number, finding in enumerate(report.findings, 1)
    )
    return summary + details


def _asset_rows(rows: Sequence[AddressAssets], page: _Page) -> list[list[str]]:
    return [
        [page.who(row.address), page.symbol(e.asset), page.units(e.asset, e.amount)]
        for row in rows
        for e in row.assets
    ]


def _totals(entries: Sequence[AssetAmount], page: _Page) -> str:
    return ", ".join(page.amount(e.asset, e.amount) for e in entries) or "nothing"


def _profit(report: AnalysisReport, page: _Page) -> str:
    profit = report.profit
    lines = [
        "<li>Attacker-controlled: "
        f"{', '.join(page.who(a) for a in profit.attackers) or 'none'}</li>",
        f"<li>Net gain (after gas): {_totals(profit.net_gain, page)}</li>",
    ]
    if profit.gas_fee_wei is not None:
        lines.append(f"<li>Gas paid by the sender: {page.amount('ETH', profit.gas_fee_wei)}</li>")
    lines.append(f"<li>Victims' loss: {_totals(profit.total_loss, page)}</li>")
    if profit.values:
        lines.append(f"<li>Net gain in ETH (priced assets): {_ether(profit.net_gain_eth)}</li>")
        lines.append(
            f"<li>Victims' loss in ETH (priced assets): {_ether(profit.total_loss_eth)}</li>"
        )
    if profit.unpriced:
        names = ", ".join(page.symbol(asset) for asset in profit.unpriced)
        lines.append(f"<li>Unpriced (not in the ETH totals): {names}</li>")
    headers = ["Address", "Asset", "Amount"]
    value_headers = ["Asset", "Net gain", "Loss", "Net gain in ETH", "Loss in ETH", "Priced by"]
    values = [
        [
            page.symbol(value.asset),
            page.units(value.asset, value.net_gain),
            page.units(value.asset, value.loss),
            _ether(value.net_gain_eth),
            _ether(value.loss_eth),
            _basis(value, page),
        ]
        for value in profit.values
    ]
    return (
        f"<ul>{''.join(lines)}</ul>"
        f"<h3>Attacker gains</h3>{_table(headers, _asset_rows(profit.gains, page), {2})}"
        f"<h3>Victim losses</h3>{_table(headers, _asset_rows(profit.losses, page), {2})}"
        f"<h3>Value in ETH</h3>{_table(value_headers, values, {1, 2, 3, 4})}"
    )


def _ether(amount: int | None) -> str:
    return "unpriced" if amount is None else _esc(f"{group_digits(format_units(amount, 18))} ETH")


def _basis(value: AssetValue, page: _Page) -> str:
    """How an asset was priced, escaped: the pair and its pre-tx reserves, or why not."""
    if value.basis == "pair" and value.pair:
        return (
            f"pair {page.who(value.pair)}: {_esc(value.reserve_native)} wei / "
            f"{_esc(value.reserve_token)} units before the tx"
        )
    return _esc(value.basis or "no pair with the wrapped native token in the trace")


def _balances(report: AnalysisReport, page: _Page) -> str:
    rows = []
    for change in report.balance_changes:
        delta = page.units(change.asset, change.delta)
        sign, css = ("+", "pos") if change.delta > 0 else ("", "neg" if change.delta < 0 else "")
        rows.append(
            [
                page.who(change.address),
                page.symbol(change.asset),
                page.units(change.asset, change.before),
                page.units(change.asset, change.after),
                f'<span class="{css}">{sign}{delta}</span>' + _logged(change, page),
            ]
        )
    return _table(["Address", "Asset", "Before", "After", "Delta"], rows, {2, 3, 4})


def _logged(change: BalanceChange, page: _Page) -> str:
    """What the token's Transfer events claimed, when the balances read say otherwise."""
    if change.logged_delta is None:
        return ""
    claimed = page.units(change.asset, change.logged_delta)
    return f"<br/><small>Transfer events claim {claimed}</small>"


def _fund_flow(report: AnalysisReport, result: ReplayResult, page: _Page) -> str:
    if not report.fund_flow.edges:
        return "<p>No value moved.</p>"
    roles = Roles(
        attackers=frozenset({*report.profit.attackers, report.sender.lower()}),
        victims=frozenset(row.address for row in report.profit.losses),
    )
    rows = [
        [
            page.who(edge.source),
            page.who(edge.target),
            page.symbol(edge.asset),
            page.units(edge.asset, edge.amount),
            str(edge.transfers),
        ]
        for edge in report.fund_flow.edges
    ]
    legend = (
        "<p>Every movement of value in execution order, numbered; columns are the accounts "
        "(red: attacker-controlled, green: lost value). Hover a step or an account for the "
        "whole address. The table sums the steps per sender, receiver and asset.</p>"
    )
    steps = fund_flow_steps(result.token_transfers, page.naming, roles)
    table = _table(["From", "To", "Asset", "Amount", "Transfers"], rows, {3, 4})
    return legend + steps + table


def render_html(report: AnalysisReport, result: ReplayResult) -> str:
    """The whole report as one offline HTML document: header, findings, profit and loss,
    balance changes, the fund flow step by step, the call tree (collapsible, searchable, every
    frame), storage changes and the gas profile. Names and symbols come from `report.names`."""
    page = _Page(Naming.from_names(report.names))
    sections = [
        ("findings", "Findings", _findings(report, page)),
        ("profit", "Profit and loss", _profit(report, page)),
        ("balances", "Balance changes", _balances(report, page)),
        ("flow", "Fund flow", _fund_flow(report, result, page)),
        ("tree", "Call tree", call_tree(result.trace, page.naming)),
        ("storage", "Storage changes", storage_changes(result.state_diff, page.naming)),
        ("gas", "Gas profile", gas_profile(result.trace, page.naming)),
    ]
    toc = " · ".join(f'<a href="#{key}">{title}</a>' for key, title, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{title}</h2>{content}</section>'
        for key, title, content in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>Analysis of {_esc(report.tx_hash)}</title>"
        f"<style>{_CSS}{VIEW_CSS}</style></head>"
        f"<body><h1>Analysis of {_esc(report.tx_hash)}</h1>"
        f'{_header(report, result, page)}<nav class="noprint"><p>{toc}</p></nav>{body}'
        '<footer><p class="mono">Generated by timemachine analyze.</p></footer>'
        f"<script>//<![CDATA[{VIEW_SCRIPT}//]]></script>"
        "</body></html>\n"
    )


# ----------------------------------------------------------------- comparison report

_CHART_WIDTH = 760
_LABEL_WIDTH = 250
_VALUE_WIDTH = 170
_BAR_HEIGHT = 12
_ROW_HEIGHT = 2 * _BAR_HEIGHT + 14


def _bar_chart(
    kind: str,
    caption: str,
    rows: Sequence[tuple[str, str, tuple[int | float | None, int | float | None], tuple[str, str]]],
    *,
    signed: bool,
) -> str:
    """Horizontal grouped bars: per row (label, hover title, (left, right) values, their texts)
    one left-run and one right-run bar. Each row is scaled on its own (`signed`: from a centre
    axis, negative to the left), since rows are in different assets or units. A value a run
    lacks (None) draws an empty bar."""
    plot = _CHART_WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    height = 12 + _ROW_HEIGHT * len(rows)
    axis = _LABEL_WIDTH + (plot / 2 if signed else 0)
    half = plot / 2 if signed else plot
    parts = [
        f'<svg class="chart" data-chart="{kind}" width="{_CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_CHART_WIDTH} {height}" role="img" aria-label="{_esc(caption)}">',
        f'<line class="axis" x1="{axis:.1f}" y1="4" x2="{axis:.1f}" y2="{height - 4}"/>',
    ]
    for index, (label, title, values, texts) in enumerate(rows):
        top = 8 + _ROW_HEIGHT * index
        biggest = max((abs(v) for v in values if v is not None), default=0)
        parts.append(f'<g class="bar-row"><title>{_esc(title)}</title>')
        parts.append(
            f'<text class="label" x="{_LABEL_WIDTH - 6}" y="{top + _BAR_HEIGHT + 4}" '
            f'text-anchor="end">{_esc(label)}</text>'
        )
        for side, (value, text) in enumerate(zip(values, texts, strict=True)):
            y = top + side * (_BAR_HEIGHT + 2)
            length = abs(value) / biggest * half if value is not None and biggest else 0.0
            x = axis - length if value is not None and value < 0 else axis
            name = "left" if side == 0 else "right"
            parts.append(
                f'<rect class="bar {name}" x="{x:.1f}" y="{y}" width="{length:.1f}" '
                f'height="{_BAR_HEIGHT}"/>'
                f'<text class="value {name}" x="{_CHART_WIDTH - _VALUE_WIDTH + 6}" '
                f'y="{y + _BAR_HEIGHT - 2}">{_esc(text)}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _legend(comparison: Comparison, note: str) -> str:
    return (
        f'<p><span class="key left"></span>{_esc(comparison.left)}'
        f'<span class="key right"></span>{_esc(comparison.right)}. {note}</p>'
    )


def _balance_label(row: BalanceDiff, naming: Naming) -> str:
    name = naming.label(row.address) or _short(row.address)
    return f"{name} {row.symbol or naming.label(row.asset) or _short(row.asset)}"


def _balance_chart(comparison: Comparison) -> str:
    if comparison.balances is None:
        return (
            f"<p>No balance changes to chart: the {_esc(comparison.left)} run is a receipt, "
            "which records none.</p>"
        )
    if not comparison.balances:
        return "<p>Neither run changed a balance.</p>"
    page = _Page(Naming.from_names(comparison.names))
    rows = []
    for row in comparison.balances:
        texts = (
            f"{format_units(row.left, row.decimals)}",
            f"{format_units(row.right, row.decimals)}",
        )
        title = (
            f"{row.address} {row.symbol or row.asset}: {comparison.left} {texts[0]}, "
            f"{comparison.right} {texts[1]}, difference "
            f"{format_units(row.difference, row.decimals)}"
        )
        rows.append((_balance_label(row, page.naming), title, (row.left, row.right), texts))
    chart = _bar_chart("balances", "Balance deltas per address and asset", rows, signed=True)
    table = _table(
        ["Address", "Asset", _esc(comparison.left), _esc(comparison.right), "Difference"],
        (
            [
                page.who(row.address),
                _esc(row.symbol or page.naming.symbol(row.asset)),
                _esc(format_units(row.left, row.decimals)),
                _esc(format_units(row.right, row.decimals)),
                _esc(format_units(row.difference, row.decimals)),
            ]
            for row in comparison.balances
        ),
        {2, 3, 4},
    )
    note = "Each row is scaled on its own (assets differ); gains right of the axis, losses left."
    return _legend(comparison, note) + chart + table


def _hop_label(number: int, swap: SwapDiff) -> str:
    sold = swap.symbol_in or _short(swap.token_in or "?")
    bought = swap.symbol_out or _short(swap.token_out or "?")
    return f"#{number} {_short(swap.pair)} {sold}→{bought}"


def _price_chart(comparison: Comparison) -> str:
    if not comparison.swaps:
        return "<p>No Uniswap V2 swap in either run.</p>"
    rows = []
    for number, swap in enumerate(comparison.swaps, start=1):
        prices = (
            swap.left.price if swap.left else None,
            swap.right.price if swap.right else None,
        )
        texts = (
            f"{prices[0]:.8g}" if prices[0] is not None else "no swap",
            f"{prices[1]:.8g}" if prices[1] is not None else "no swap",
        )
        diff = f", {swap.price_diff_pct:+.4f} %" if swap.price_diff_pct is not None else ""
        title = (
            f"pair {swap.pair}: {swap.symbol_out or swap.token_out} per "
            f"{swap.symbol_in or swap.token_in}, {comparison.left} {texts[0]}, "
            f"{comparison.right} {texts[1]}{diff}"
        )
        rows.append((_hop_label(number, swap), title, prices, texts))
    chart = _bar_chart("prices", "Execution price per swap hop", rows, signed=False)
    table = _table(
        ["Hop", "Price " + _esc(comparison.left), "Price " + _esc(comparison.right), "Diff %"],
        (
            [
                _esc(label),
                _esc(texts[0]),
                _esc(texts[1]),
                _esc(f"{swap.price_diff_pct:+.4f}" if swap.price_diff_pct is not None else "-"),
            ]
            for (label, _, _, texts), swap in zip(rows, comparison.swaps, strict=True)
        ),
        {1, 2, 3},
    )
    note = "Execution price: bought token per sold token; each hop is scaled on its own."
    return _legend(comparison, note) + chart + table


def _comparison_header(comparison: Comparison) -> str:
    def cell(value: int | str | None) -> str:
        return _esc("-" if value is None else value)

    rows = [
        ["Status", cell(comparison.status.left), cell(comparison.status.right)],
        ["Gas used", cell(comparison.gas_used.left), cell(comparison.gas_used.right)],
        [
            "Revert reason",
            cell(comparison.revert_reason.left),
            cell(comparison.revert_reason.right),
        ],
    ]
    if comparison.net_gain_eth is not None:
        rows.append(
            [
                "Attacker net gain in ETH",
                *(
                    _ether(value) if isinstance(value, int) else cell(value)
                    for value in (comparison.net_gain_eth.left, comparison.net_gain_eth.right)
                ),
            ]
        )
    logs = (
        f"<p>{len(comparison.logs)} log(s) differ.</p>"
        if comparison.logs
        else "<p>Logs: identical.</p>"
    )
    headers = ["", _esc(comparison.left), _esc(comparison.right)]
    return _table(headers, rows, set()) + logs


def render_comparison_html(comparison: Comparison, tx_hash: str) -> str:
    """A comparison of two runs of `tx_hash` as one offline HTML document: the scalars, and
    inline-SVG bar charts of the balance deltas per (address, asset) and of the execution price
    per swap hop, each with its table."""
    title = f"{comparison.left} vs {comparison.right}: {tx_hash}"
    sections = [
        ("Outcome", _comparison_header(comparison)),
        ("Balance deltas", _balance_chart(comparison)),
        ("Execution prices per swap hop", _price_chart(comparison)),
    ]
    body = "".join(f"<section><h2>{name}</h2>{content}</section>" for name, content in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>{_esc(title)}</title>"
        f"<style>{_CSS}</style></head>"
        f"<body><h1>{_esc(title)}</h1>{body}"
        '<footer><p class="mono">Generated by timemachine compare.</p></footer>'
        "</body></html>\n"
    )
