"""`timemachine import` and `timemachine batch-replay`: import transaction lists (CSV, JSON, or an
RPC block/address scan), then replay them all and compare each with what really happened."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli.errors import fail, reported_errors, run_async
from timemachine.cli.inputs import ResultJsonOption, RpcUrlOption
from timemachine.settings import get_settings

if TYPE_CHECKING:
    from rich.console import Console

    from timemachine.models.tx_imports import BatchReport, BatchTarget, ImportReport, ReasonCount

TX_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
ROWS_SHOWN = 200  # per-tx rows in the human table before only non-exact ones are listed

Owner = Annotated[
    str, typer.Option("--owner", help="Whose import this is (the service's user id).")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database", help="Database URL (default: DATABASE_URL, else the embedded SQLite file)."
    ),
]
Chain = Annotated[
    str | None,
    typer.Option("--chain", "-c", help="Chain of rows without a chain cell (name or id)."),
]
Concurrency = Annotated[
    int, typer.Option("--concurrency", "-j", min=1, max=16, help="Blocks replayed at once.")
]


@contextmanager
def progress_bar(description: str, *, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (only on a terminal); yields the callback to advance it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield lambda _done, _total: None
        return
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def import_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="CSV or JSON list of transactions.", show_default=False),
    ] = None,
    chain: Chain = None,
    owner: Owner = "anonymous",
    as_json: ResultJsonOption = False,
    database: DatabaseUrl = None,
    rpc_url: RpcUrlOption = None,
    blocks: Annotated[
        str | None,
        typer.Option("--blocks", help="Scan blocks A:B (inclusive) over --rpc-url instead."),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help="With --blocks: only txs from or to this address."),
    ] = None,
    replay: Annotated[
        bool, typer.Option("--replay", help="Then replay every good row and compare.")
    ] = False,
    concurrency: Concurrency = 1,
) -> None:
    """Import transactions (CSV/JSON file, or an RPC scan), validated row by row, idempotently.

    Columns: hash, chain (name or id; default --chain), optional block and label; other columns
    are kept as metadata. Bad rows are reported with their line (JSON: array index); good rows
    are stored. Prints accepted / rejected / duplicates; exit 0 when any good row was accepted
    or was already stored (a duplicate), 2 when every row was rejected.
    """
    from timemachine.errors import InvalidInputError

    with reported_errors():
        if (file is None) == (blocks is None):
            raise InvalidInputError("give a FILE to import, or --blocks A:B with --rpc-url")
        if address is not None and blocks is None:
            raise InvalidInputError("--address needs --blocks A:B (the range to scan)")
        if file is not None:
            report = _import_file(file, chain, owner, database, progress=not as_json)
    if blocks is not None:
        report = run_async(
            _import_scan(rpc_url, blocks, address, owner, database, progress=not as_json)
        )
    batch = None
    if replay and report.items:
        from timemachine.orchestration.tx_imports import item_targets

        batch = run_async(
            _replay(rpc_url, item_targets(report.items), concurrency, progress=not as_json)
        )
    if as_json:
        document = report.summary()
        if batch is not None:
            document["replay"] = batch.model_dump(mode="json")
        typer.echo(json.dumps(document, indent=2))
    else:
        _print_import(report)
        if batch is not None:
            print_batch(batch)
    if not report.accepted + report.duplicates:
        fail(f"nothing imported: every one of the {report.rejected} rows was rejected", 2)
    if batch is not None:
        fail_if_all_failed(batch)


def _import_file(
    file: Path, chain: str | None, owner: str, database: str | None, *, progress: bool
) -> ImportReport:
    from timemachine.orchestration.tx_imports import read_import_file, store_import
    from timemachine.store import open_database

    parsed = read_import_file(file, default_chain=chain)
    if not parsed.rows:
        from timemachine.errors import InvalidInputError

        raise InvalidInputError(f"{file} holds no transactions (only a header or blank lines)")
    db = open_database(database or get_settings().database_url)
    try:
        with progress_bar(f"importing {file.name}", enabled=progress) as advance:
            return store_import(db, owner, file.name, parsed, progress=advance)
    finally:
        db.dispose()


async def _import_scan(
    rpc_url: str | None,
    blocks: str,
    address: str | None,
    owner: str,
    database: str | None,
    *,
    progress: bool,
) -> ImportReport:
    from timemachine.chain.blocks import quantity
    from timemachine.chain.pool import open_upstream
    from timemachine.chain.scan import parse_block_range, scan_blocks
    from timemachine.machine import resolve_rpc_url
    from timemachine.orchestration.tx_imports import items_from_scan, store_import
    from timemachine.store import open_database

    start, end = parse_block_range(blocks)
    settings = get_settings()
    async with open_upstream(resolve_rpc_url(rpc_url, settings), settings) as rpc:
        chain_id = quantity(await rpc.call("eth_chainId"))
        with progress_bar(f"scanning blocks {start}..{end}", enabled=progress) as advance:
            found = await scan_blocks(rpc, start, end, address=address, progress=advance)
        source = f"rpc {rpc.label} blocks {start}:{end}" + (
            f" address {address}" if address else ""
        )
    parsed = items_from_scan((tx.as_row() for tx in found), chain_id)
    if not parsed.items:
        from timemachine.models.tx_imports import ImportReport

        return ImportReport(accepted=0, rejected=0, duplicates=0)
    db = open_database(database or get_settings().database_url)
    try:
        with progress_bar("storing", enabled=progress) as advance:
            return store_import(db, owner, source, parsed, progress=advance)
    finally:
        db.dispose()


async def _replay(
    rpc_url: str | None, targets: list[BatchTarget], concurrency: int, *, progress: bool
) -> BatchReport:
    from timemachine.machine import TimeMachine
    from timemachine.replay.batch import replay_batch

    async with TimeMachine(rpc_url) as machine:
        engine = await machine.engine()
        with progress_bar("replaying", enabled=progress) as advance:
            return await replay_batch(engine, targets, concurrency=concurrency, progress=advance)


def batch_replay(
    file: Annotated[
        Path | None,
        typer.Argument(help="CSV or JSON list to replay (not stored).", show_default=False),
    ] = None,
    import_id: Annotated[
        str | None, typer.Option("--import-id", help="Replay a stored import instead.")
    ] = None,
    rpc_url: RpcUrlOption = None,
    chain: Chain = None,
    owner: Owner = "anonymous",
    database: DatabaseUrl = None,
    as_json: ResultJsonOption = False,
    concurrency: Concurrency = 1,
) -> None:
    """Replay every transaction of an import (or a file) in exact mode and compare each with
    the original: how many exact, diverged, failed, with the reasons, and replays/s."""
    from timemachine.errors import InvalidInputError

    with reported_errors():
        if (file is None) == (import_id is None):
            raise InvalidInputError("give a FILE or --import-id ID (one of them)")
        targets = _targets(file, import_id, chain, owner, database)
    report = run_async(_replay(rpc_url, targets, concurrency, progress=not as_json))
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_batch(report)
    fail_if_all_failed(report)


def grouped_reasons(reasons: list[ReasonCount]) -> list[ReasonCount]:
    """Reasons that differ only by the transaction hash they name, counted as one (`<tx>`)."""
    from timemachine.models.tx_imports import ReasonCount

    counts: dict[str, int] = {}
    for reason in reasons:
        key = TX_HASH.sub("<tx>", reason.reason)
        counts[key] = counts.get(key, 0) + reason.count
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return [ReasonCount(reason=reason, count=count) for reason, count in ordered]


def fail_if_all_failed(report: BatchReport) -> None:
    """Exit 6 (replay rejected) with the commonest reason when not one transaction replayed."""
    if report.total and report.failed == report.total:
        reasons = grouped_reasons(report.failure_reasons)
        reason = reasons[0] if reasons else None
        common = f"; commonest: {reason.count} × {reason.reason}" if reason else ""
        fail(f"every one of the {report.total} transactions failed to replay{common}", 6)


def _targets(
    file: Path | None, import_id: str | None, chain: str | None, owner: str, database: str | None
) -> list[BatchTarget]:
    from timemachine.orchestration.tx_imports import import_targets, item_targets, read_import_file
    from timemachine.store import open_database

    if file is not None:
        parsed = read_import_file(file, default_chain=chain)
        if parsed.errors:
            first = parsed.errors[0]
            sys.stderr.write(
                f"warning: {len(parsed.errors)} rows of {file} rejected and skipped (first: line "
                f"{first.line}: {first.reason})\n"
            )
        if not parsed.items:
            from timemachine.errors import InvalidInputError

            raise InvalidInputError(f"{file} holds no valid transactions")
        return item_targets(parsed.items)
    assert import_id is not None
    db = open_database(database or get_settings().database_url)
    try:
        return import_targets(db, owner, import_id)
    finally:
        db.dispose()


def _print_import(report: ImportReport, console: Console | None = None) -> None:
    from timemachine.cli.output import terminal_console

    console = console or terminal_console()
    where = f" (import {report.import_id})" if report.import_id else ""
    console.print(
        f"accepted {report.accepted:,}, rejected {report.rejected:,}, "
        f"duplicates {report.duplicates:,}{where}"
    )
    for error in report.errors[:50]:
        console.print(f"  line {error.line}: {error.reason}", markup=False, highlight=False)
    if len(report.errors) > 50:
        console.print(f"  … and {len(report.errors) - 50} more (--json lists them all)")


def print_batch(report: BatchReport, console: Console | None = None) -> None:
    """The batch report as a readable summary, reason lists and a per-tx table."""
    from rich.table import Table

    from timemachine.cli.output import fit, terminal_console

    console = console or terminal_console()
    console.print(
        f"[bold]Batch replay[/]: {report.total} transactions in {report.blocks} blocks — "
        f"[green]{report.exact} exact[/], [yellow]{report.diverged} diverged[/], "
        f"[red]{report.failed} failed[/]"
        + (f", {report.unverified} unverified" if report.unverified else "")
        + f"; {report.elapsed_seconds:.2f} s, {report.replays_per_second:.1f} replays/s "
        f"(concurrency {report.concurrency})"
    )
    for title, reasons in (
        ("Divergences", report.divergence_reasons),
        ("Failures", grouped_reasons(report.failure_reasons)),
    ):
        if reasons:
            console.print(f"{title}:")
            for reason in reasons:
                console.print(f"  {reason.count:>5} × {reason.reason}", markup=False)
    failed = [row.hash for row in report.rows if row.verdict == "failed"]
    if failed:
        shown = ", ".join(failed[:3]) + (f" and {len(failed) - 3} more" if len(failed) > 3 else "")
        console.print(f"Failed transactions: {shown}", markup=False, highlight=False)
    # Failures are listed once per reason above (with a count), not once per transaction.
    rows = [row for row in report.rows if row.verdict != "failed"]
    if len(rows) > ROWS_SHOWN:
        rows = [row for row in rows if row.verdict != "exact"]
        console.print(f"({report.exact} exact rows not listed; --json lists every row)")
    if not rows:
        return
    table = Table(title_justify="left")
    for column in ("tx", "block", "index", "label", "verdict", "gas orig → replay", "detail"):
        table.add_column(column, overflow="fold")
    colors = {"exact": "green", "diverged": "yellow", "failed": "red", "unverified": "blue"}
    for row in rows:
        gas = (
            f"{row.gas_original:,} → {row.gas_replayed:,}"
            if row.gas_original is not None and row.gas_replayed is not None
            else ""
        )
        detail = row.error or "; ".join(row.differences)
        table.add_row(
            row.hash,
            "" if row.block is None else str(row.block),
            "" if row.index is None else str(row.index),
            row.label or "",
            f"[{colors[row.verdict]}]{row.verdict}[/]",
            gas,
            detail,
        )
    console.print(fit(table, console))
