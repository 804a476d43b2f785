"""`timemachine analyze`: replay a transaction and report what the detectors conclude, or screen
call-trace files (trace-only analysis) without replaying anything."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from timemachine.cli.errors import reported_errors, run_async
from timemachine.cli.inputs import (
    AbiOption,
    LabelOption,
    LabelsFileOption,
    ReportFileOption,
    RpcUrlOption,
)

if TYPE_CHECKING:
    from timemachine.analysis.trace_only import Screened
    from timemachine.mev.models import Block


class ReportFormat(StrEnum):
    JSON = "json"
    MD = "md"
    HTML = "html"


def analyze(
    tx: Annotated[
        str | None,
        typer.Argument(
            help="Transaction hash (with --traces: only this transaction of the files).",
            show_default=False,
        ),
    ] = None,
    rpc_url: RpcUrlOption = None,
    traces: Annotated[
        list[Path] | None,
        typer.Option(
            "--traces",
            "-t",
            help="Trace-only analysis of a trace file (repeatable): Parity `trace_block` JSON "
            "(a list of traces or {block_number, traces, ...}) or geth `debug_traceBlock*` "
            "callTracer output. No replay, no RPC.",
        ),
    ] = None,
    report_format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Report format.")
    ] = ReportFormat.MD,
    output: ReportFileOption = None,
    label: LabelOption = None,
    labels_file: LabelsFileOption = None,
    abi: AbiOption = None,
) -> None:
    """Replay a transaction and analyze it: findings, attacker profit, victims' loss, fund flow.

    `--format html` writes one self-contained, offline page with the call tree and a fund-flow
    diagram as well. `--traces FILE` screens every transaction of call-trace files with the
    reduced set of signals that need no logs or state (listed in the report); exit code 2 on an
    unreadable or non-trace file.
    """
    from timemachine.cli.inputs import decoder_with, labels_and_abis
    from timemachine.cli.output import emit

    with reported_errors():
        labels, abis = labels_and_abis(label, labels_file, abi)
    if traces:
        emit(_screen_files(traces, tx, report_format), output)
        return
    if tx is None:
        with reported_errors():
            from timemachine.errors import InvalidInputError

            raise InvalidInputError("give a transaction hash, or --traces FILE")
    from timemachine.analysis import analyze as run_detectors
    from timemachine.analysis.report import render_markdown
    from timemachine.analysis.report_html import render_html
    from timemachine.machine import TimeMachine
    from timemachine.models.replay import ReplayResult

    async def run() -> ReplayResult:
        async with TimeMachine(rpc_url, decoder=decoder_with(abis)) as machine:
            return await machine.replay(tx)

    from timemachine.cli.output import progress

    with progress(f"replaying and analyzing {tx}", tty_only=True):
        result = run_async(run())
    report = run_detectors(result, labels)
    if report_format is ReportFormat.JSON:
        text = report.model_dump_json(indent=2)
    elif report_format is ReportFormat.HTML:
        text = render_html(report, result)
    else:
        text = render_markdown(report)
    emit(text, output)


def load_trace_file(path: Path) -> Block:
    """A trace file as a `Block`: Parity `trace_block` JSON, or geth callTracer results."""
    from timemachine.errors import MevInputError
    from timemachine.mev.sources import block_from_calltracer, block_from_json

    try:
        document: Any = json.loads(path.read_bytes())
    except OSError as error:
        raise MevInputError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise MevInputError(f"{path} is not valid JSON (truncated?): {error}") from None
    items = document.get("result") if isinstance(document, dict) else document
    if isinstance(items, list) and items and isinstance(items[0], dict):
        first = items[0]
        if "action" not in first and ("result" in first or "calls" in first or "type" in first):
            try:
                return block_from_calltracer(items, block_number=0)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                raise MevInputError(f"{path} is not valid callTracer output: {error}") from None
    return block_from_json(document, source=str(path))


def _screen_files(paths: list[Path], tx: str | None, report_format: ReportFormat) -> str:
    from timemachine.analysis.trace_only import SIGNALS, screen
    from timemachine.errors import InvalidInputError

    screened: list[Screened] = []
    with reported_errors():
        if report_format is ReportFormat.HTML:
            raise InvalidInputError("--traces reports are md or json (no call tree to draw)")
        for path in paths:
            block = load_trace_file(path)
            found = screen(block.traces, block_number=block.block_number, coinbase=block.miner)
            screened += [item for item in found if tx is None or item.tx_hash == tx.lower()]
        if tx is not None and not screened:
            raise InvalidInputError(f"transaction {tx} is not in the trace files")
    if report_format is ReportFormat.JSON:
        return json.dumps(
            {
                "signals": {name: text for name, (_, text) in SIGNALS.items()},
                "transactions": len(screened),
                "findings": [
                    {"tx_hash": item.tx_hash, **finding.model_dump(mode="json")}
                    for item in screened
                    for finding in item.findings
                ],
            },
            indent=2,
        )
    flagged = [item for item in screened if item.above("low")]
    lines = [
        "# Trace-only screening",
        "",
        f"{len(screened)} transactions screened; {sum(len(i.above('low')) for i in screened)} "
        "findings above low.",
        "",
        "Signals (trace-only, no logs or state):",
        *(f"- {name}: {text}" for name, (_, text) in SIGNALS.items()),
        "",
    ]
    for item in flagged:
        lines += [f"## {item.tx_hash}", ""]
        lines += [f"- {f.severity} {f.detector}: {f.title}" for f in item.above("low")]
        lines.append("")
    return "\n".join(lines)
