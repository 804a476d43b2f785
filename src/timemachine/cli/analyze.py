"""`timemachine analyze`: replay a transaction and report what the detectors conclude."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from timemachine.cli.errors import run_async


class ReportFormat(StrEnum):
    JSON = "json"
    MD = "md"
    HTML = "html"


def analyze(
    tx: Annotated[str, typer.Argument(help="Transaction hash.", show_default=False)],
    rpc_url: Annotated[
        str | None,
        typer.Option("--rpc-url", "-r", envvar="WEB3_RPC_URL", help="Upstream JSON-RPC endpoint."),
    ] = None,
    report_format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Report format.")
    ] = ReportFormat.MD,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here (default stdout).")
    ] = None,
) -> None:
    """Replay a transaction and analyze it: findings, attacker profit, victims' loss, fund flow.

    `--format html` writes one self-contained, offline page with the call tree and a fund-flow
    diagram as well.
    """
    from timemachine.analysis.report import render_markdown
    from timemachine.analysis.report_html import render_html
    from timemachine.cli.output import emit
    from timemachine.machine import TimeMachine
    from timemachine.models.analysis import AnalysisReport
    from timemachine.models.replay import ReplayResult

    async def run() -> tuple[ReplayResult, AnalysisReport]:
        async with TimeMachine(rpc_url) as machine:
            return await machine.analyze_replay(tx)

    result, report = run_async(run())
    if report_format is ReportFormat.JSON:
        text = report.model_dump_json(indent=2)
    elif report_format is ReportFormat.HTML:
        text = render_html(report, result)
    else:
        text = render_markdown(report)
    emit(text, output)
