"""Human output: the terminal (width, wrapping, tables that fit), a replay's report, names.

Piped output (stdout not a TTY) is never wrapped or cut: hashes, addresses and amounts stay whole
so scripts can grep them. On a terminal the width is the terminal's, `--width N` sets it and
`--wide` lifts it; a table wider than that switches to a vertical `column: value` layout.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from timemachine.cli.errors import reported_errors
from timemachine.cli.terminal import TERMINAL, UNBOUNDED
from timemachine.errors import InvalidInputError
from timemachine.models import ReplayResult
from timemachine.models.analysis import AnalysisReport
from timemachine.trace.naming import Naming
from timemachine.trace.render import render_balance_changes, render_fidelity, render_trace


def terminal_console(*, stderr: bool = False) -> Console:
    """A console honouring `--width`/`--wide`; unbounded when the stream is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    return console_of_width(TERMINAL.width_for(stream.isatty()), stderr=stderr)


def console_of_width(
    width: int | None, *, stderr: bool = False, file: IO[str] | None = None
) -> Console:
    """A console `width` columns wide (None: the terminal's); UNBOUNDED never wraps."""
    return Console(stderr=stderr, file=file, width=width, soft_wrap=width == UNBOUNDED)


def heading(target: Console, title: str) -> None:
    """A section rule across the width; a short one when the width is unbounded (piped)."""
    if target.width >= UNBOUNDED:
        target.print(f"── {title} ──")
    else:
        target.rule(title)


def fit(table: Table, target: Console) -> RenderableType:
    """The table, or one `column: value` block per row when its cells cannot fit `target`'s
    width whole (rich would otherwise cut or fold them)."""
    unbounded: ConsoleOptions = target.options.update_width(UNBOUNDED)
    if Measurement.get(target, unbounded, table).maximum <= target.width:
        return table
    headers = [str(column.header) for column in table.columns]
    cells = [list(column.cells) for column in table.columns]
    pad = max((len(header) for header in headers), default=0)
    text = Text()
    if table.title:
        text.append(f"{table.title}\n", style="italic")
    for row in range(table.row_count):
        text.append(f"─ {row + 1}\n", style="dim")
        for header, column in zip(headers, cells, strict=True):
            value = column[row]
            text.append(f"  {header.ljust(pad)}  ")
            text.append(value if isinstance(value, Text) else Text.from_markup(str(value)))
            text.append("\n")
    text.rstrip()
    return text


@contextlib.contextmanager
def progress(message: str, *, enabled: bool = True, tty_only: bool = False) -> Iterator[None]:
    """Long work, shown on stderr: a spinner on a terminal, else (unless `tty_only`) one line
    when it starts and one when it ends with the time taken (so logs show where time went)."""
    err = terminal_console(stderr=True)
    if not enabled or (tty_only and not err.is_terminal):
        yield
        return
    started = time.monotonic()
    if err.is_terminal:
        with err.status(f"{message}…"):
            yield
        return
    err.print(f"{message}…", markup=False, highlight=False)
    yield
    err.print(f"{message}: done in {time.monotonic() - started:.1f} s", markup=False)


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
    sequence_position: int | None = None,
    compared_trace: bool = False,
) -> None:
    """Print one replay the way `cast run` users expect, plus what cast does not show.

    `sequence_position`: the replay is that transaction of a sequence run on one fork."""
    from timemachine.analysis.evidence import naming_of

    out = console or terminal_console()
    naming = naming_of(result, labels)
    status = "success" if result.replayed.status == 1 else "reverted"
    out.print(header_line(result, sequence_position))
    out.print(render_trace(result.trace, labels=naming.display_labels(), max_depth=max_depth))
    out.print(f"Transaction {status}. Gas used: {result.replayed.gas_used:,}")
    if result.balance_changes:
        out.print(fit(render_balance_changes(result.balance_changes, naming=naming), out))
    out.print(render_fidelity(result.fidelity))
    if compared_trace:
        out.print(trace_comparison_line(result))
    timings = [f"{stage} {seconds:.3f}s" for stage, seconds in result.timings.items()]
    out.print(f"[dim]{', '.join([*timings, f'{result.rpc_requests} upstream RPC requests'])}[/]")


def trace_comparison_line(result: ReplayResult) -> str:
    """What `--compare-trace` found: every frame identical, or how many fields differ."""
    frames = sum(1 for _ in result.trace.walk())
    differing = [d for d in result.fidelity.differences if d.field.startswith("trace")]
    if not differing:
        return (
            f"Trace comparison: all {frames} call frames identical to the upstream's own trace "
            "(type, addresses, value, gas, input, output, error)"
        )
    return (
        f"Trace comparison: {len(differing)} difference(s) with the upstream's own trace over "
        f"{frames} call frames (listed above); first at {differing[0].field}"
    )


def header_line(result: ReplayResult, sequence_position: int | None = None) -> str:
    """Hash, chain, block, position, hardfork and how the block's earlier txs were handled."""
    how = f"{result.mode} mode"
    if sequence_position is not None:
        how = "sequence"
        earlier = f"transaction {sequence_position + 1} of the sequence, on one fork"
    elif result.original is None:
        how = "raw transaction"
        earlier = "never mined; run on top of the block"
    elif result.mode == "quick":
        earlier = "the block's earlier txs skipped (--quick)"
    else:
        earlier = f"{result.preceding_txs_replayed} earlier txs replayed"
    return (
        f"[bold]{result.tx_hash}[/] on {result.chain} (chain {result.chain_id}), block "
        f"{result.block_number}, index {result.tx_index}, hardfork {result.hardfork}, "
        f"{how} ({earlier})"
    )


def render_findings(report: AnalysisReport) -> Table | str:
    """The findings of an analysis as a table (or a one-line 'no findings')."""
    if not report.findings:
        return "[green]Findings: none[/]"
    naming = Naming.from_names(report.names)
    table = Table(title="Findings", title_justify="left")
    for column in ("class", "severity", "confidence", "title"):
        table.add_column(column)
    for finding in report.findings:
        table.add_row(
            finding.vulnerability_class.value,
            finding.severity,
            f"{finding.confidence:.2f}",
            naming.annotate(finding.title),
        )
    return table
