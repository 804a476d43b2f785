"""`timemachine archive query "SQL"` (DuckDB over the archive's Parquet chunks, every dataset a
view) and `timemachine archive retention` (per-dataset policies, with a dry run).

Plain command functions: `register(archive_app)` adds them to the `archive` command group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from timemachine.cli.errors import reported_errors

OutputDir = Annotated[
    Path | None,
    typer.Option(
        "--output-dir",
        "-o",
        help="Archive directory (default: ARCHIVE_DIR, else `archive` in the data directory).",
    ),
]


def _archive_dir(output_dir: Path | None) -> Path:
    from timemachine.settings import get_settings

    found = output_dir or get_settings().archive_dir
    assert found is not None  # resolved by Settings
    return found


def query_command(
    sql: Annotated[str, typer.Argument(help="One SQL statement; each dataset is a view.")],
    output_dir: OutputDir = None,
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="Query these chunk files instead; repeatable."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array of rows (binary as 0x-hex).")
    ] = False,
) -> None:
    """Run SQL over the archive with DuckDB, e.g.
    `SELECT address, count(*) FROM logs WHERE block_number >= 100 GROUP BY 1`."""
    with reported_errors():
        from timemachine.archive.query import ArchiveQuery

        archive = (
            ArchiveQuery.of_paths(files) if files else ArchiveQuery.under(_archive_dir(output_dir))
        )
        with archive:
            records = archive.sql(sql).records()
        if as_json:
            typer.echo(json.dumps(records, indent=2, default=str))
            return
        _print_table(records)


def _print_table(records: list[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    if not records:
        typer.echo("(no rows)")
        return
    table = Table()
    for name in records[0]:
        table.add_column(name)
    for record in records:
        table.add_row(*("" if v is None else str(v) for v in record.values()))
    Console(width=200).print(table)
    typer.echo(f"{len(records)} rows")


def retention_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would be deleted or compacted.")
    ] = False,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            help="Policies instead of ARCHIVE_RETENTION, e.g. 'logs:keep_days=30;*:compact=10000'.",
        ),
    ] = None,
    output_dir: OutputDir = None,
) -> None:
    """Apply the retention policies: delete chunks past `keep_days`/`keep_blocks`, merge small
    chunks (`compact=N`); each change is logged to retention.jsonl in the archive and
    recorded in the catalog."""
    with reported_errors():
        from timemachine.orchestration.archive_jobs import retention
        from timemachine.settings import get_settings
        from timemachine.store import open_database

        root = _archive_dir(output_dir)
        settings = get_settings()
        db = None if dry_run else open_database(settings.database_url)
        actions = retention(settings, dry_run=dry_run, policies=policy, root=root, db=db)
        for action in actions:
            typer.echo(("would " if dry_run else "") + action.describe())
        if not actions:
            typer.echo("nothing to do")
        elif not dry_run:
            typer.echo(f"logged to {root / 'retention.jsonl'}")


def register(archive_app: typer.Typer) -> None:
    """Add `query` and `retention` to the `timemachine archive` group."""
    archive_app.command("query")(query_command)
    archive_app.command("retention")(retention_command)
