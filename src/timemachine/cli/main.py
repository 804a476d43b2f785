"""`timemachine` command line. Heavy imports happen inside commands so `--help` stays fast."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

import typer

from timemachine.cli.errors import (
    SERVICE_MISSING,
    checked_settings,
    fail,
    missing_service_stack,
    reported_errors,
    run_async,
)
from timemachine.cli.group import command_group
from timemachine.cli.inputs import (
    AbiOption,
    DepthOption,
    FullJsonOption,
    LabelsFileOption,
    QuickOption,
    TxHashArg,
    repeatable,
)
from timemachine.cli.lazy import LazyCommand, LazyGroup
from timemachine.cli.whatif import NO_WHATIF, WhatIfOptions, whatif_options

if TYPE_CHECKING:
    from timemachine.models import ReplayResult


class Commands(LazyGroup):
    """The root group: every command below loads its module only when it runs."""

    lazy: ClassVar[Mapping[str, LazyCommand]] = {
        "analyze": LazyCommand(
            "timemachine.cli.analyze:analyze",
            "Replay a transaction and analyze it: findings, attacker profit, victims' loss, "
            "fund flow.",
        ),
        "whatif": LazyCommand(
            "timemachine.cli.whatif:whatif",
            "Replay a transaction with modifications: patched code, state, sender, block, "
            "other txs.",
        ),
        "compare": LazyCommand(
            "timemachine.cli.whatif:compare",
            "Compare the original receipt with a replay, or (with what-if options) a replay "
            "with a what-if: status, gas, revert reason, logs, balances, findings, profit, swap "
            "prices.",
        ),
        "verify-fix": LazyCommand(
            "timemachine.cli.whatif:verify_fix",
            "Replay an exploit against patched code: does it still succeed?",
        ),
        "import": LazyCommand(
            "timemachine.cli.tx_imports:import_command",
            "Import transactions (CSV/JSON file, or an RPC scan), validated row by row, "
            "idempotently.",
        ),
        "batch-replay": LazyCommand(
            "timemachine.cli.tx_imports:batch_replay",
            "Replay every transaction of an import (or a file) in exact mode and compare each "
            "with the original: how many exact, diverged, failed, with the reasons, and "
            "replays/s.",
        ),
        "monitor": LazyCommand(
            "timemachine.cli.monitor:monitor",
            "Watch the mempool: ingest pending txs from every provider, enrich them, follow them "
            "until included, replaced or dropped, and simulate the ones the filter picks before "
            "they are mined.",
        ),
        "consume": LazyCommand(
            "timemachine.cli.consume:consume",
            "Consume a topic as one member of a durable consumer group (needs "
            "EVENT_BUS_URL=nats://…).",
        ),
        "serve": LazyCommand(
            "timemachine.cli.service:serve",
            "Run the service: REST/WebSocket API, Celery worker and beat; Ctrl-C stops everything.",
        ),
        "worker": LazyCommand(
            "timemachine.cli.service:worker",
            "Run a Celery worker for the replay, analysis, cleanup and alerts queues.",
        ),
        "daemon": LazyCommand(
            "timemachine.cli.daemon:daemon_app",
            "A warm replay engine in the background that `replay` uses when it runs.",
        ),
        "chain": LazyCommand(
            "timemachine.cli.chain:chain_app",
            "Chain access: provider health, failover and quorum; live heads and reorgs.",
        ),
        "conformance": LazyCommand(
            "timemachine.cli.conformance:conformance_app",
            "Run third-party test fixtures on the engine and compare field by field.",
        ),
        "exploits": LazyCommand(
            "timemachine.cli.exploits:exploits_app",
            "The exploit catalog: public incidents (DeFiHackLabs) and bundled devnet scenarios.",
        ),
        "archive": LazyCommand(
            "timemachine.cli.archive:archive_app",
            "Historical archive: cryo-compatible Parquet datasets, their catalog, queries, "
            "retention.",
        ),
        "mev": LazyCommand(
            "timemachine.cli.mev:mev_app",
            "MEV inspection: swaps, arbitrages, sandwiches, liquidations, JIT liquidity.",
        ),
        "rules": LazyCommand(
            "timemachine.cli.rules:rules_app",
            "Alert rules: validate a rule file, dry-run it on a transaction.",
        ),
        "alerts": LazyCommand(
            "timemachine.cli.rules:alerts_app", "Stored alerts: list and acknowledge."
        ),
        "users": LazyCommand(
            "timemachine.cli.users:users_app",
            "Users of the service (roles: viewer, analyst, admin).",
        ),
        "keys": LazyCommand(
            "timemachine.cli.keys:keys_app",
            "Credential vault keys (TIME_MACHINE_VAULT_KEYS, or vault.keys in the data directory).",
        ),
    }


app = typer.Typer(
    name="timemachine",
    help="Replay historical EVM transactions and exploits on forked state, and explain them.",
    cls=Commands,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich's help formatter alone costs ~120 ms per start
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
    quick: QuickOption = False,
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
    as_json: FullJsonOption = False,
    depth: DepthOption = None,
    abi: AbiOption = None,
    label: Annotated[
        list[str] | None,
        repeatable("--label", "-l", help="Name an address in the tree: ADDRESS=NAME"),
    ] = None,
    daemon: Annotated[
        bool | None,
        typer.Option(
            "--daemon/--no-daemon",
            help="Replay in the warm daemon, starting it if needed / never in the daemon. "
            "Default: in the daemon when one runs (not with --abi: extra ABIs decode here).",
            show_default=False,
        ),
    ] = None,
    labels_file: LabelsFileOption = None,
) -> None:
    """Re-execute transactions on a fork and explain them (call tree, events, balances, fidelity).

    With several hashes they run in sequence on one fork; with a raw signed transaction it runs on
    top of --block (latest by default).
    """
    from timemachine.cli.daemon import replay_through_daemon
    from timemachine.cli.inputs import labels_and_abis
    from timemachine.orchestration.daemon_link import ReplayRequest

    with reported_errors():
        labels, abis = labels_and_abis(label, labels_file, abi)
    request = ReplayRequest(targets, rpc_url, quick, block, compare_trace)
    # The daemon decodes with the bundled ABIs: a replay with extra ones runs in this process.
    answer = None if abis else replay_through_daemon(request, daemon)
    if answer is not None and as_json:
        typer.echo(answer.decode())  # what the in-process path would print, unparsed
        return

    async def run() -> list[ReplayResult]:
        from timemachine.cli.inputs import decoder_with
        from timemachine.machine import TimeMachine
        from timemachine.orchestration.daemon import replay_targets

        async with TimeMachine(rpc_url, decoder=decoder_with(abis)) as machine:
            return await replay_targets(machine, request)

    if answer is None:
        checked_settings()  # before the imports below: they configure logging from the settings
    from timemachine.cli.output import print_replay, progress
    from timemachine.orchestration.daemon import results_from_json, results_json

    if answer is None:
        with progress(f"replaying {', '.join(targets)[:80]}", tty_only=True):
            results = run_async(run())
    else:
        results = results_from_json(answer)
    if as_json:
        typer.echo(results_json(results))
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


capsule_app = command_group("Capsules: self-contained replays that run offline, anywhere.")
app.add_typer(capsule_app, name="capsule")


@capsule_app.command("export")
@whatif_options()
def capsule_export(
    tx: TxHashArg,
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
    as_json: FullJsonOption = False,
    depth: DepthOption = None,
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
    from timemachine.cli.terminal import TERMINAL

    TERMINAL.width, TERMINAL.wide = width, wide


def run() -> None:
    """Console-script entry point."""
    arguments = sys.argv[1:]
    # Fail early on a malformed environment; but help reads no settings, and a replay the daemon
    # answers needs none here (replay and daemon check them before they use them).
    if arguments and "--help" not in arguments and arguments[0] not in ("replay", "daemon"):
        checked_settings()
    from timemachine.cli.lazy import hide_flag_types

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
