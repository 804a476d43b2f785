"""`timemachine conformance`: run third-party conformance fixtures on the engine."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli.errors import fail, run_async
from timemachine.cli.group import command_group

if TYPE_CHECKING:
    from timemachine.conformance.geth import SuiteResult

conformance_app = command_group(
    "Run third-party test fixtures on the engine and compare field by field."
)


@conformance_app.command("geth")
def geth(
    directory: Annotated[
        Path,
        typer.Argument(
            help="go-ethereum tracetest fixtures (folders call_tracer, call_tracer_flat, …).",
            show_default=False,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print totals and every case as JSON.")
    ] = False,
    via_rpc: Annotated[
        bool,
        typer.Option(
            "--via-rpc",
            help="Serve each fixture from a local JSON-RPC stand-in node and replay it through "
            "the live-RPC replay path.",
        ),
    ] = False,
    debug_api: Annotated[
        bool,
        typer.Option(
            "--debug-api/--no-debug-api",
            help="With --via-rpc: whether the stand-in offers debug_traceBlockByNumber "
            "(prestateTracer); without it state is fetched as the replay reads it.",
        ),
    ] = True,
) -> None:
    """Run go-ethereum's tracer fixtures on our engines and compare with geth's expected output.

    Each fixture runs from its prestate under the hardfork geth would pick: on py-evm before
    London and for EIP-7702 set-code transactions (anvil misprices those forks and traces set-code
    state unlike geth), on a fresh anvil otherwise, and is compared the way
    geth's own runner compares it. With --via-rpc each fixture is served by a local JSON-RPC
    stand-in node and replayed like a transaction of a real provider. Exit code 1 when any case
    failed or could not run.
    """
    from rich.console import Console
    from rich.progress import Progress

    from timemachine.conformance.geth import CaseResult, Fixture, discover, run_suite
    from timemachine.errors import InvalidInputError
    from timemachine.forks.manager import ForkManager
    from timemachine.settings import ForkSettings, get_settings

    if not directory.is_dir() or not discover(directory):
        error = InvalidInputError(f"{directory}: no geth tracer fixtures found there")
        fail(str(error), error.exit_code)
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task("running fixtures", total=len(discover(directory)))

        def advance(case: CaseResult) -> None:
            progress.advance(task)

        runner = None
        if via_rpc:
            from timemachine.conformance.live import run_fixture_via_rpc

            def runner(fixture: Fixture, forks: ForkManager) -> Awaitable[CaseResult]:
                return run_fixture_via_rpc(fixture, forks, debug_api=debug_api)

        result = run_async(
            run_suite(
                directory,
                progress=advance,
                settings=ForkSettings.of(get_settings()),
                runner=runner,
            )
        )
    if as_json:
        typer.echo(
            result.model_dump_json(
                indent=2, include={"total", "matched", "failed", "errors", "cases"}
            )
        )
    else:
        _print(result)
    if result.failed or result.errors:
        raise typer.Exit(1)


def _print(result: SuiteResult) -> None:
    from rich.console import Console

    console = Console(soft_wrap=True)
    for case in result.cases:
        colour = {"matched": "green", "failed": "red", "error": "yellow"}[case.status]
        console.print(
            f"[{colour}]{case.status:7}[/] {case.name} "
            f"({case.hardfork or '?'} on {case.backend or '?'})"
        )
        if case.status == "matched":
            continue
        for difference in case.differences[:10]:
            console.print(f"    {difference}", markup=False, highlight=False)
        if len(case.differences) > 10:
            console.print(f"    … {len(case.differences) - 10} more (use --json)")
        for note in case.notes:
            console.print(f"    [dim]note: {note}[/]", highlight=False)
    console.print(
        f"{result.total} cases: {result.matched} matched, {result.failed} failed, "
        f"{result.errors} errors"
    )
