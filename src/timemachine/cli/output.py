"""Human output of a replay: header, call tree, balance changes, fidelity verdict."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from timemachine.cli.errors import reported_errors
from timemachine.errors import InvalidInputError
from timemachine.models import ReplayResult
from timemachine.models.analysis import AnalysisReport
from timemachine.trace.render import render_balance_changes, render_fidelity, render_trace


def emit(text: str, output: Path | None) -> None:
    """A rendered report: to stdout, or written to `output` (ending in a newline) and named."""
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    with reported_errors():
        try:
            output.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        except OSError as error:
            raise InvalidInputError(f"cannot write {output}: {error.strerror}") from error
    typer.echo(f"wrote {output}")


def print_replay(
    result: ReplayResult,
    *,
    labels: Mapping[str, str] | None = None,
    max_depth: int | None = None,
    console: Console | None = None,
) -> None:
    """Print one replay the way `cast run` users expect, plus what cast does not show."""
    console = console or Console()
    status = "success" if result.replayed.status == 1 else "reverted"
    console.print(
        f"[bold]{result.tx_hash}[/] on {result.chain} (chain {result.chain_id}), block "
        f"{result.block_number}, index {result.tx_index}, hardfork {result.hardfork}, "
        f"{result.mode} mode ({result.preceding_txs_replayed} earlier txs replayed)"
    )
    console.print(render_trace(result.trace, labels=labels, max_depth=max_depth))
    console.print(f"Transaction {status}. Gas used: {result.replayed.gas_used:,}")
    if result.balance_changes:
        console.print(render_balance_changes(result.balance_changes, labels=labels))
    console.print(render_fidelity(result.fidelity))
    timings = ", ".join(f"{stage} {seconds:.3f}s" for stage, seconds in result.timings.items())
    console.print(f"[dim]{timings}; {result.rpc_requests} upstream RPC requests[/]")


def render_findings(report: AnalysisReport) -> Table | str:
    """The findings of an analysis as a table (or a one-line 'no findings')."""
    if not report.findings:
        return "[green]Findings: none[/]"
    table = Table(title="Findings", title_justify="left")
    for column in ("class", "severity", "confidence", "title"):
        table.add_column(column)
    for finding in report.findings:
        table.add_row(
            finding.vulnerability_class.value,
            finding.severity,
            f"{finding.confidence:.2f}",
            finding.title,
        )
    return table
