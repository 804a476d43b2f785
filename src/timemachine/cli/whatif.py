"""`timemachine whatif`, `compare` and `verify-fix`: replays with modifications, and comparisons."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_type_hints

import typer

from timemachine.cli.errors import reported_errors, run_async
from timemachine.cli.inputs import (
    AbiOption,
    DepthOption,
    FullJsonOption,
    LabelOption,
    LabelsFileOption,
    QuickOption,
    ReportFileOption,
    RpcUrlOption,
    TxHashArg,
    repeatable,
)

if TYPE_CHECKING:
    from rich.console import Console

    from timemachine.machine import TimeMachine
    from timemachine.models.compare import Comparison, LogDiff
    from timemachine.models.whatif import CodePatch, FixVerification, WhatIf

T = TypeVar("T")

Edits = list[str] | None  # a repeatable option's values, one edit each
Patch = Annotated[
    Edits,
    repeatable(
        "--patch", help="Replace a contract's code with a Solidity file's: ADDR=FILE.sol[:Contract]"
    ),
]
PatchCode = Annotated[
    Edits, repeatable("--patch-code", help="Replace a contract's runtime code: ADDR=0x…")
]
PatchArgs = Annotated[
    Edits,
    typer.Option(
        "--patch-args",
        help="Constructor arguments of a --patch contract: ADDR=a,b,… (@name reads the "
        "target's name() getter; default: each parameter from the getter of its name).",
    ),
]
Storage = Annotated[Edits, repeatable("--storage", help="Set a storage slot: ADDR:SLOT=VALUE")]
Balance = Annotated[Edits, repeatable("--balance", help="Set an ETH balance: ADDR=WEI")]
Nonce = Annotated[Edits, repeatable("--nonce", help="Set an account nonce: ADDR=N")]
Sender = Annotated[
    str | None, typer.Option("--sender", help="Send the transaction as ADDR (impersonated).")
]
AtBlock = Annotated[
    int | None,
    typer.Option("--at-block", min=0, help="Run the same call on top of block N instead."),
]
Before = Annotated[
    Edits,
    repeatable(
        "--before", help="Insert before the target: a mined tx hash, or FROM:TO:DATA[:VALUE]"
    ),
]
Drop = Annotated[Edits, repeatable("--drop", help="Leave out an earlier tx of the target's block")]


@dataclass(frozen=True)
class WhatIfOptions:
    """The what-if options, declared once for every command that takes them (`whatif`,
    `compare`, `capsule export`; `verify-fix` takes the patch options): a command declares a
    parameter `options: WhatIfOptions = NO_WHATIF` and `@whatif_options` puts these options in
    its place on the command line, then hands the command one WhatIfOptions."""

    patch: Patch = None
    patch_code: PatchCode = None
    patch_args: PatchArgs = None
    storage: Storage = None
    balance: Balance = None
    nonce: Nonce = None
    sender: Sender = None
    at_block: AtBlock = None
    before: Before = None
    drop: Drop = None
    quick: QuickOption = False

    def request(self) -> WhatIf:
        """The WhatIf these options describe."""
        return build_whatif(**asdict(self))

    def patches(self) -> list[CodePatch]:
        """The code patches alone (--patch, --patch-code, --patch-args)."""
        return build_patches(self.patch or [], self.patch_code or [], self.patch_args or [])


NO_WHATIF = WhatIfOptions()
PATCH_OPTIONS = ("patch", "patch_code", "patch_args")


def whatif_options(
    *, only: tuple[str, ...] | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Expand a command's `options: WhatIfOptions` parameter into the what-if options (all of
    them, or `only` these) at its place; the command receives them as one WhatIfOptions."""
    hints = get_type_hints(WhatIfOptions, include_extras=True)
    chosen = [f for f in fields(WhatIfOptions) if only is None or f.name in only]
    expanded = [
        inspect.Parameter(
            f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name]
        )
        for f in chosen
    ]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        parameters: list[inspect.Parameter] = []
        for parameter in signature.parameters.values():
            kind = inspect.Parameter.KEYWORD_ONLY
            if parameter.name == "options":
                parameters += expanded
            else:
                parameters.append(parameter.replace(kind=kind))

        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            options = WhatIfOptions(**{f.name: values.pop(f.name) for f in chosen})
            command(**values, options=options)

        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


class CompareFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    HTML = "html"


def _split(item: str, separator: str, flag: str, shape: str) -> tuple[str, str]:
    from timemachine.errors import InvalidInputError

    left, found, right = item.partition(separator)
    if not found or not left.strip() or not right.strip():
        raise InvalidInputError(f"{flag} {item!r} is not {shape}")
    return left.strip(), right.strip()


def _int(text: str, flag: str) -> int:
    from timemachine.errors import InvalidInputError

    try:
        return int(text, 0)
    except ValueError as error:
        raise InvalidInputError(f"{flag}: {text!r} is not a number") from error


def build_patches(
    patch: list[str], patch_code: list[str], patch_args: list[str]
) -> list[CodePatch]:
    """CodePatch models from the CLI's --patch, --patch-code and --patch-args."""
    from timemachine.errors import InvalidInputError
    from timemachine.models.whatif import CodePatch

    args: dict[str, list[str]] = {}
    for item in patch_args:
        address, values = _split(item, "=", "--patch-args", "ADDR=a,b,…")
        args[address.lower()] = [value.strip() for value in values.split(",")]
    patches = []
    for item in patch:
        address, target = _split(item, "=", "--patch", "ADDR=FILE.sol[:Contract]")
        file, _, contract = target.partition(":")
        if not Path(file).is_file():
            raise InvalidInputError(f"--patch {item!r}: no file {file}")
        patches.append(
            CodePatch(
                address=address,
                source=file,
                contract=contract or None,
                constructor_args=args.pop(address.lower(), None),
            )
        )
    for item in patch_code:
        address, code = _split(item, "=", "--patch-code", "ADDR=0x…")
        patches.append(CodePatch(address=address, code=code))
    if args:
        raise InvalidInputError(f"--patch-args names {next(iter(args))}, which no --patch patches")
    return patches


def build_whatif(
    *,
    patch: list[str] | None = None,
    patch_code: list[str] | None = None,
    patch_args: list[str] | None = None,
    storage: list[str] | None = None,
    balance: list[str] | None = None,
    nonce: list[str] | None = None,
    sender: str | None = None,
    at_block: int | None = None,
    before: list[str] | None = None,
    drop: list[str] | None = None,
    quick: bool = False,
) -> WhatIf:
    """The WhatIf the CLI's options describe."""
    from timemachine.models.whatif import AccountOverride, CallSpec, WhatIf

    overrides: dict[str, AccountOverride] = {}

    def account(address: str) -> AccountOverride:
        return overrides.setdefault(address.lower(), AccountOverride(address=address))

    for item in storage or []:
        location, value = _split(item, "=", "--storage", "ADDR:SLOT=VALUE")
        address, slot = _split(location, ":", "--storage", "ADDR:SLOT=VALUE")
        account(address).storage[slot] = value
    for item in balance or []:
        address, wei = _split(item, "=", "--balance", "ADDR=WEI")
        account(address).balance = _int(wei, "--balance")
    for item in nonce or []:
        address, number = _split(item, "=", "--nonce", "ADDR=N")
        account(address).nonce = _int(number, "--nonce")
    inserted: list[str | CallSpec] = []
    for item in before or []:
        if ":" not in item:
            inserted.append(item.strip())
            continue
        parts = item.split(":")
        if len(parts) not in (3, 4):
            from timemachine.errors import InvalidInputError

            raise InvalidInputError(f"--before {item!r} is not a tx hash or FROM:TO:DATA[:VALUE]")
        amount = _int(parts[3], "--before value") if len(parts) == 4 else 0
        inserted.append(
            CallSpec.model_validate(
                {
                    "from": parts[0],
                    "to": parts[1] or None,
                    "data": parts[2] or "0x",
                    "value": amount,
                }
            )
        )
    return WhatIf(
        overrides=list(overrides.values()),
        patches=build_patches(patch or [], patch_code or [], patch_args or []),
        sender=sender,
        at_block=at_block,
        before=inserted,
        drop=[item.strip() for item in drop or []],
        mode="quick" if quick else "exact",
    )


def load_whatif_json(path: Path) -> WhatIf:
    """A WhatIf from a JSON file (the model's own shape, as `WhatIf.model_dump_json` writes it)."""
    from pydantic import ValidationError

    from timemachine.errors import InvalidInputError
    from timemachine.models.whatif import WhatIf

    try:
        text = path.read_text()
    except OSError as error:
        raise InvalidInputError(f"cannot read --whatif-json {path}: {error.strerror}") from error
    try:
        return WhatIf.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(document)"
        raise InvalidInputError(
            f"--whatif-json {path} is not a what-if: {where}: {first['msg']}"
        ) from error


@whatif_options()
def whatif(
    tx: TxHashArg,
    rpc_url: RpcUrlOption = None,
    options: WhatIfOptions = NO_WHATIF,
    as_json: FullJsonOption = False,
    depth: DepthOption = None,
    label: LabelOption = None,
    labels_file: LabelsFileOption = None,
    abi: AbiOption = None,
) -> None:
    """Replay a transaction with modifications: patched code, state, sender, block, other txs.

    The report is a replay's (call tree, balances) and its verdict against the original receipt
    names what the modifications changed.
    """
    from timemachine.cli.inputs import labels_and_abis
    from timemachine.cli.output import print_replay

    with reported_errors():
        request = options.request()
        labels, abis = labels_and_abis(label, labels_file, abi)

    result = _run_modified(
        f"what-if of {tx}", request, rpc_url, abis, lambda machine: machine.whatif(tx, request)
    )
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_replay(result, labels=labels, max_depth=depth)


@whatif_options()
def compare(
    tx: TxHashArg,
    rpc_url: RpcUrlOption = None,
    options: WhatIfOptions = NO_WHATIF,
    as_json: FullJsonOption = False,
    report_format: Annotated[
        CompareFormat | None,
        typer.Option("--format", "-f", help="text (tables), json, or html (with bar charts)."),
    ] = None,
    output: ReportFileOption = None,
    label: LabelOption = None,
    labels_file: LabelsFileOption = None,
    abi: AbiOption = None,
) -> None:
    """Compare the original receipt with a replay, or (with what-if options) a replay with a
    what-if: status, gas, revert reason, logs, balances, findings, profit, swap prices.

    `--format html` writes one self-contained, offline page with bar charts of the balance
    deltas and of each swap hop's execution price in both runs."""
    from timemachine.cli.inputs import labels_and_abis
    from timemachine.cli.output import emit

    with reported_errors():
        if as_json and report_format not in (None, CompareFormat.JSON):
            from timemachine.errors import InvalidInputError

            raise InvalidInputError("--json and --format disagree; give one of them")
        chosen = CompareFormat.JSON if as_json else report_format or CompareFormat.TEXT
        request = options.request()
        labels, abis = labels_and_abis(label, labels_file, abi)

    result = _run_modified(
        f"comparing {tx}", request, rpc_url, abis, lambda machine: machine.compare(tx, request)
    )
    result.names.labels.update({address.lower(): name for address, name in labels.items()})
    if chosen is CompareFormat.TEXT and output is None:
        print_comparison(result)
        return
    if chosen is CompareFormat.TEXT:
        from rich.console import Console

        from timemachine.cli.terminal import UNBOUNDED

        console = Console(record=True, width=UNBOUNDED, soft_wrap=True)
        with console.capture():
            print_comparison(result, console)
        text = console.export_text()
    elif chosen is CompareFormat.JSON:
        text = result.model_dump_json(indent=2)
    else:
        from timemachine.analysis.report_html import render_comparison_html

        text = render_comparison_html(result, tx)
    emit(text, output)


@whatif_options(only=PATCH_OPTIONS)
def verify_fix(
    tx: Annotated[
        str | None,
        typer.Argument(help="The exploit transaction (omit with --scenario).", show_default=False),
    ] = None,
    rpc_url: RpcUrlOption = None,
    options: WhatIfOptions = NO_WHATIF,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="A bundled exploit: start the devnet and patch its contract with the bundled fix.",
        ),
    ] = None,
    as_json: FullJsonOption = False,
) -> None:
    """Replay an exploit against patched code: does it still succeed?

    Exit 0 when the patch stops it (the tx reverts, or the attacker side gains nothing), 1 when it
    is still exploitable.
    """

    with reported_errors():
        from timemachine.errors import InvalidInputError

        patches = options.patches()
        if scenario is None and (tx is None or not patches):
            raise InvalidInputError(
                "give the exploit TX and at least one --patch, or --scenario ID"
            )
        if scenario is not None and (tx is not None or patches or rpc_url):
            raise InvalidInputError("--scenario takes no TX, --patch or --rpc-url")

    async def run() -> FixVerification:
        from timemachine.machine import TimeMachine

        if scenario is not None:
            return await verify_scenario(scenario)
        assert tx is not None
        async with TimeMachine(rpc_url) as machine:
            return await machine.verify_fix(tx, patches)

    from timemachine.cli.output import progress

    what = f"the bundled fix of {scenario}" if scenario else f"{len(patches)} patch(es)"
    with progress(f"verifying {what} against {tx or 'the exploit'}"):
        result = run_async(run())
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_verification(result)
    if not result.stopped:
        raise typer.Exit(1)


async def verify_scenario(scenario_id: str) -> FixVerification:
    """Start the devnet and verify a bundled exploit scenario's bundled fix."""
    from timemachine.catalog.scenarios import get_scenario
    from timemachine.devnet import run_devnet
    from timemachine.errors import InvalidInputError
    from timemachine.machine import TimeMachine
    from timemachine.models.whatif import CodePatch

    found = get_scenario(scenario_id)
    if found.fix is None:
        raise InvalidInputError(f"{scenario_id} is a benign control: there is nothing to fix")
    fix = found.fix
    async with run_devnet() as net, TimeMachine(net.rpc_url) as machine:
        record = net.history.scenario(scenario_id)
        patch = CodePatch(
            address=net.history.address_of(fix.contract),
            artifact=fix.artifact,
            constructor_args=list(fix.constructor_args) if fix.constructor_args else None,
        )
        return await machine.verify_fix(record.exploit_tx, [patch])


def _units(amount: int, decimals: int | None, symbol: str | None) -> str:
    from timemachine.trace.formatting import format_units

    if decimals is None:
        return f"{amount} {symbol or 'base units'}"
    return f"{format_units(amount, decimals)} {symbol or ''}".rstrip()


def print_verification(result: FixVerification, console: Console | None = None) -> None:
    """The verdict, why, and the attacker side's profit per asset without and with the patch."""
    from rich.table import Table

    from timemachine.cli.output import fit, terminal_console

    console = console or terminal_console()
    colour = "green" if result.stopped else "red"
    console.print(f"[bold {colour}]{result.verdict.upper()}[/]: {result.reason}")
    for patch in result.patches:
        source = patch.artifact or patch.source or "runtime bytecode"
        console.print(f"patched {patch.address} with {source}")
    table = Table(title="Attacker side's net gain per asset", title_justify="left")
    for column in ("asset", "original", "patched", "difference"):
        table.add_column(column, justify="left" if column == "asset" else "right")
    for row in result.profit_difference:
        decimals = 18 if row.asset == "ETH" else row.decimals
        table.add_row(
            row.asset,
            *(_units(value, decimals, row.symbol) for value in row.values()),
        )
    console.print(fit(table, console))


def print_comparison(
    result: Comparison, console: Console | None = None, labels: dict[str, str] | None = None
) -> None:
    """The comparison as tables: scalars, logs, balances, findings, profit, swaps; addresses
    named and amounts in token units with their symbols."""
    from rich.table import Table

    from timemachine.cli.output import fit, terminal_console
    from timemachine.trace.naming import Naming

    console = console or terminal_console()
    naming = Naming.from_names(result.names)
    naming.add_labels(labels or {})
    console.print(f"[bold]{result.left} vs {result.right}[/]")
    scalars = Table(show_header=True)
    for column in ("", result.left, result.right):
        scalars.add_column(column)
    scalars.add_row("status", str(result.status.left), str(result.status.right))
    scalars.add_row("gas used", f"{result.gas_used.left:,}", f"{result.gas_used.right:,}")
    scalars.add_row(
        "revert reason",
        str(result.revert_reason.left or "-"),
        str(result.revert_reason.right or "-"),
    )
    if result.net_gain_eth is not None:
        scalars.add_row(
            "attacker net gain in ETH",
            *(
                naming.amount("ETH", value) if isinstance(value, int) else "unpriced"
                for value in (result.net_gain_eth.left, result.net_gain_eth.right)
            ),
        )
    console.print(fit(scalars, console))
    if result.logs:
        logs = Table(title=f"Logs that differ ({len(result.logs)})", title_justify="left")
        for column in ("change", "index", "address", "event", "fields"):
            logs.add_column(column)
        for log in result.logs:
            index = f"{log.left_index if log.left_index is not None else '-'}→" + (
                f"{log.right_index if log.right_index is not None else '-'}"
            )
            event = log.event or (
                f"topic {topic[:10]}…" if (topic := _topic0(log)) else "anonymous"
            )
            logs.add_row(log.change, index, naming.short(log.address), event, ", ".join(log.fields))
        console.print(fit(logs, console))
    else:
        console.print("[green]Logs: identical[/]")
    if result.balances:
        balances = Table(title="Balance changes", title_justify="left")
        for column in ("address", "asset", result.left, result.right, "difference"):
            balances.add_column(column)
        for row in result.balances:
            balances.add_row(
                naming.short(row.address),
                naming.symbol(row.asset),
                *(naming.units(row.asset, v) for v in (row.left, row.right, row.difference)),
            )
        console.print(fit(balances, console))
    if result.findings:
        findings = Table(title="Findings that differ", title_justify="left")
        for column in ("class", "change", result.left, result.right):
            findings.add_column(column)
        for item in result.findings:
            findings.add_row(
                item.vulnerability_class,
                item.change,
                item.left_severity or "-",
                item.right_severity or "-",
            )
        console.print(fit(findings, console))
    if result.profit:
        profit = Table(title="Attacker side's net gain per asset", title_justify="left")
        for column in ("asset", result.left, result.right, "difference"):
            profit.add_column(column)
        for entry in result.profit:
            profit.add_row(
                naming.symbol(entry.asset),
                *(
                    naming.units(entry.asset, v)
                    for v in (entry.left, entry.right, entry.difference)
                ),
            )
        console.print(fit(profit, console))
    if result.swaps:
        swaps = Table(title="Swaps (Uniswap V2)", title_justify="left")
        for column in (
            "pair",
            "sold→bought",
            f"price {result.left}",
            f"price {result.right}",
            "price diff %",
            "PnL diff (bought)",
        ):
            swaps.add_column(column)
        for swap in result.swaps:
            swaps.add_row(
                naming.short(swap.pair),
                f"{swap.symbol_in or naming.symbol(swap.token_in or '?')}→"
                f"{swap.symbol_out or naming.symbol(swap.token_out or '?')}",
                f"{swap.left.price:.8g}" if swap.left else "-",
                f"{swap.right.price:.8g}" if swap.right else "-",
                f"{swap.price_diff_pct:+.4f}" if swap.price_diff_pct is not None else "-",
                naming.units(swap.token_out, swap.amount_out_diff)
                if swap.amount_out_diff is not None and swap.token_out
                else "-",
            )
        console.print(fit(swaps, console))


def _topic0(log: LogDiff) -> str | None:
    emitted = log.left or log.right
    return emitted.topics[0] if emitted is not None and emitted.topics else None


def _run_modified(
    doing: str,
    request: WhatIf,
    rpc_url: str | None,
    abis: list[list[dict[str, Any]]],
    call: Callable[[TimeMachine], Awaitable[T]],
) -> T:
    """`call` on a machine decoding with `abis`; a progress line says so when code is patched."""
    from timemachine.cli.inputs import decoder_with
    from timemachine.cli.output import progress
    from timemachine.machine import TimeMachine

    async def run() -> T:
        async with TimeMachine(rpc_url, decoder=decoder_with(abis)) as machine:
            return await call(machine)

    patches = request.patches
    with progress(f"{doing} with {len(patches)} patch(es)", enabled=bool(patches)):
        return run_async(run())
