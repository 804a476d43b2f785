"""`timemachine` command line. Heavy imports happen inside commands so `--help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli.analyze import analyze
from timemachine.cli.chain import chain_app
from timemachine.cli.conformance import conformance_app
from timemachine.cli.consume import consume
from timemachine.cli.errors import (
    SERVICE_MISSING,
    fail,
    missing_service_stack,
    reported_errors,
    run_async,
)
from timemachine.cli.exploits import exploits_app
from timemachine.cli.inputs import LabelsFileOption
from timemachine.cli.keys import keys_app
from timemachine.cli.mev import mev_app
from timemachine.cli.monitor import monitor
from timemachine.cli.rules import alerts_app, rules_app
from timemachine.cli.service import serve, worker
from timemachine.cli.tx_imports import batch_replay, import_command
from timemachine.cli.users import users_app
from timemachine.cli.whatif import (
    NO_WHATIF,
    WhatIfOptions,
    compare,
    verify_fix,
    whatif,
    whatif_options,
)

if TYPE_CHECKING:
    from timemachine.models import ReplayMode, ReplayResult

app = typer.Typer(
    name="timemachine",
    help="Replay historical EVM transactions and exploits on forked state, and explain them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

RpcUrl = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        "-r",
        envvar="WEB3_RPC_URL",
        help="Upstream JSON-RPC endpoint, or a comma-separated provider list (url#weight=N).",
    ),
]


@app.command()
def replay(
    targets: Annotated[
        list[str],
        typer.Argument(
            help="Transaction hash(es) to replay, in chain order; or one raw signed tx (0x02f8…).",
            show_default=False,
        ),
    ],
    rpc_url: RpcUrl = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Skip the block's earlier transactions.")
    ] = False,
    block: Annotated[
        int | None, typer.Option("--block", help="Raw tx only: run on top of this block.")
    ] = None,
    compare_trace: Annotated[
        bool,
        typer.Option(
            "--compare-trace",
            help="Also compare every call frame with the upstream's own trace (needs debug API).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    depth: Annotated[
        int | None, typer.Option("--depth", min=0, help="Show the call tree to this depth.")
    ] = None,
    abi: Annotated[
        list[Path] | None,
        typer.Option("--abi", help="Extra ABI JSON (list or artifact) for decoding; repeatable."),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label", "-l", help="Name an address in the tree: ADDRESS=NAME; repeatable."
        ),
    ] = None,
    labels_file: LabelsFileOption = None,
) -> None:
    """Re-execute transactions on a fork and explain them (call tree, events, balances, fidelity).

    With several hashes they run in sequence on one fork; with a raw signed transaction it runs on
    top of --block (latest by default).
    """
    from pydantic import TypeAdapter

    from timemachine.cli.inputs import decoder_with, load_abi, user_labels
    from timemachine.cli.output import print_replay

    with reported_errors():
        labels = user_labels(label, labels_file)
        abis = [load_abi(path) for path in abi or []]

    async def run() -> list[ReplayResult]:
        from timemachine.errors import InvalidInputError
        from timemachine.machine import TimeMachine

        async with TimeMachine(rpc_url, decoder=decoder_with(abis)) as machine:
            if len(targets) == 1 and len(targets[0].strip()) > 66:
                return [await machine.replay_raw(targets[0], block_number=block)]
            if block is not None:
                raise InvalidInputError("--block applies to a raw signed transaction only")
            if len(targets) == 1:
                mode: ReplayMode = "quick" if quick else "exact"
                return [await machine.replay(targets[0], mode=mode, compare_trace=compare_trace)]
            if quick or compare_trace:
                raise InvalidInputError("--quick and --compare-trace apply to one transaction")
            return await machine.replay_many(targets)

    from timemachine.cli.output import progress

    with progress(f"replaying {', '.join(targets)[:80]}", tty_only=True):
        results = run_async(run())
    if as_json:  # pydantic's encoder: the stdlib one is ~50x slower on deep call trees
        single = len(results) == 1
        typer.echo(
            results[0].model_dump_json(indent=2)
            if single
            else TypeAdapter(list[ReplayResult]).dump_json(results, indent=2).decode()
        )
        return
    sequence = len(results) > 1
    for position, result in enumerate(results):
        print_replay(
            result,
            labels=labels,
            max_depth=depth,
            sequence_position=position if sequence else None,
            compared_trace=compare_trace,
        )


capsule_app = typer.Typer(
    help="Capsules: self-contained replays that run offline, anywhere.", no_args_is_help=True
)
app.add_typer(capsule_app, name="capsule")
app.add_typer(chain_app, name="chain")
app.add_typer(conformance_app, name="conformance")
app.add_typer(exploits_app, name="exploits")
app.add_typer(keys_app, name="keys")
app.add_typer(mev_app, name="mev")
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")
app.add_typer(users_app, name="users")
app.command()(analyze)
app.command()(consume)
app.command()(monitor)
app.command("import")(import_command)
app.command("batch-replay")(batch_replay)
app.command()(serve)
app.command()(worker)
app.command()(whatif)
app.command()(compare)
app.command("verify-fix")(verify_fix)


@capsule_app.command("export")
@whatif_options()
def capsule_export(
    tx: Annotated[str, typer.Argument(help="Transaction hash.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Capsule file (.zst compresses).")],
    rpc_url: RpcUrl = None,
    whatif_json: Annotated[
        Path | None,
        typer.Option(
            "--whatif-json", help="Carry this what-if (a WhatIf as JSON) and replay it offline."
        ),
    ] = None,
    options: WhatIfOptions = NO_WHATIF,
) -> None:
    """Capture a transaction (and its block's earlier ones) as a capsule, verified offline.

    With what-if options (the same as `timemachine whatif`) or --whatif-json, the capsule carries
    the what-if and is verified against the live what-if's outcome."""
    from timemachine.cli.whatif import load_whatif_json
    from timemachine.errors import InvalidInputError

    with reported_errors():
        request = options.request()
        if whatif_json is not None:
            if not request.empty or options.quick:
                raise InvalidInputError(
                    "--whatif-json replaces the what-if options; give one or the other"
                )
            request = load_whatif_json(whatif_json)

    async def run() -> int:
        from timemachine.machine import TimeMachine
        from timemachine.replay.capsule_io import write_capsule

        async with TimeMachine(rpc_url) as machine:
            capsule = await machine.export_capsule(tx, request)
        write_capsule(capsule, output)
        return len(capsule.accounts)

    accounts = run_async(run())
    kind = "what-if " if not request.empty else ""
    typer.echo(f"wrote {output} ({kind}{accounts} accounts, verified offline: exact)")


@capsule_app.command("replay")
def capsule_replay(
    path: Annotated[Path, typer.Argument(help="Capsule file.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    depth: Annotated[
        int | None, typer.Option("--depth", min=0, help="Show the call tree to this depth.")
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="Engine: anvil, pyevm, or auto (py-evm for a capsule of signed transactions "
            "before London, else anvil).",
        ),
    ] = "auto",
) -> None:
    """Replay a capsule with no network; same report and fidelity verdict as `replay`."""
    from timemachine.cli.output import print_replay
    from timemachine.machine import replay_capsule_async
    from timemachine.replay.backends import backend_name

    with reported_errors():
        choice = backend_name(backend)
    result = run_async(replay_capsule_async(path, backend=choice))
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_replay(result, max_depth=depth)


@app.command()
def devnet(
    port: Annotated[
        int | None, typer.Option("--port", "-p", help="Port (default: free one).")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option("--manifest", help="Write the devnet manifest JSON here.")
    ] = None,
) -> None:
    """Run the embedded devnet in the foreground: bundled contracts, activity and exploits."""
    from timemachine.cli.devnet import serve_devnet

    run_async(serve_devnet(port, manifest))


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    depth: Annotated[int | None, typer.Option("--depth", min=0)] = None,
    monitor: Annotated[
        bool,
        typer.Option(
            "--monitor",
            help="Instead: the mempool monitor on the devnet with mining paused (traffic, a "
            "sandwich attempt and an exploit, flagged while pending, then included).",
        ),
    ] = False,
) -> None:
    """Start the devnet, replay every bundled exploit, inspect the MEV scenarios' blocks for MEV
    beside their ground truth, and print what happened. Exit 1 unless every replay is exact and
    every MEV scenario matches its ground truth."""
    from timemachine.cli.demo import run_demo
    from timemachine.cli.demo_monitor import run_monitor_demo

    if monitor:
        ok = run_async(run_monitor_demo(as_json=as_json))
    else:
        ok = run_async(run_demo(as_json=as_json, max_depth=depth))
    if not ok:
        raise typer.Exit(1)


@app.callback()
def terminal_options(
    width: Annotated[
        int | None,
        typer.Option("--width", min=20, help="Wrap text and fit tables to N columns."),
    ] = None,
    wide: Annotated[
        bool,
        typer.Option(
            "--wide", help="Never wrap or cut, even on a terminal (piped output never is)."
        ),
    ] = False,
) -> None:
    """Replay historical EVM transactions and exploits on forked state, and explain them."""
    from timemachine.cli.output import TERMINAL

    TERMINAL.width, TERMINAL.wide = width, wide


def run() -> None:
    """Console-script entry point."""
    from pydantic import ValidationError

    from timemachine.settings import get_settings

    try:
        get_settings()  # fail early, in one line, on a malformed environment
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        fail(f"invalid setting in the environment: {problems}", 2)
    from timemachine.cli.output import hide_flag_types

    hide_flag_types()
    try:
        app()  # logging configures itself from LOG_LEVEL on first use (timemachine.logs)
    except ModuleNotFoundError as error:  # imported outside a command's reported_errors
        message = missing_service_stack(error)
        if message is None:
            raise
        fail(message, SERVICE_MISSING)


if __name__ == "__main__":
    run()
