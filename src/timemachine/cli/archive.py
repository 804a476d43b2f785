"""`timemachine archive`: cryo-compatible Parquet datasets — extract, list, verify (and, from
`cli/archive_query.py`, query and retention).

Each command is a plain function registered on `archive_app`; other archive commands (query,
retention) register on the same app.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli import archive_query
from timemachine.cli.errors import fail, reported_errors, run_async
from timemachine.cli.group import command_group
from timemachine.cli.inputs import ResultJsonOption

if TYPE_CHECKING:
    from timemachine.archive.extract import ExtractReport, ExtractRequest
    from timemachine.archive.storage import ArchiveStorage
    from timemachine.archive.verify import VerifyReport
    from timemachine.chain.rpc import RpcClient
    from timemachine.store.archive import ArchiveChunk
    from timemachine.store.db import Database

archive_app = command_group(
    "Historical archive: cryo-compatible Parquet datasets, their catalog, queries, retention."
)
archive_query.register(archive_app)  # query, retention

OutputDir = Annotated[
    str,
    typer.Option(
        "--output-dir",
        "-o",
        help="Directory or fsspec URL (s3://bucket/prefix; endpoint from AWS_ENDPOINT_URL).",
    ),
]
RpcUrls = Annotated[
    str | None,
    typer.Option(
        "--rpc-url",
        "-r",
        envvar="WEB3_RPC_URL",
        help="JSON-RPC endpoint, or a comma-separated provider list (url#weight=N).",
    ),
]


def _open_rpc(rpc_url: str | None, rate: float | None) -> RpcClient:
    """A provider pool (even of one URL: its concurrency and rate limits apply)."""
    from dataclasses import replace

    from timemachine.chain.pool import ProviderPool, pool_options
    from timemachine.errors import InvalidInputError
    from timemachine.settings import get_settings

    if not rpc_url:
        raise InvalidInputError("pass --rpc-url URL[,URL…] (or set WEB3_RPC_URL)")
    options = pool_options(get_settings())
    if rate is not None:
        options = replace(options, rate=rate)
    return ProviderPool(rpc_url, options)


def _database() -> Database:
    from timemachine.settings import get_settings
    from timemachine.store import open_database

    return open_database(get_settings().database_url)


@archive_app.command("extract")
def extract_command(
    datasets: Annotated[
        list[str],
        typer.Argument(
            help="blocks, transactions, logs, traces, balance_diffs, storage_diffs.",
            show_default=False,
        ),
    ],
    blocks: Annotated[
        str, typer.Option("--blocks", "-b", help="A:B, A inclusive, B exclusive (as cryo).")
    ],
    rpc_url: RpcUrls = None,
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Blocks per file.")] = 1000,
    compression: Annotated[
        str,
        typer.Option("--compression", help="lz4, 'zstd N', 'gzip N', 'brotli N', snappy or none."),
    ] = "lz4",
    output_dir: OutputDir = ".",
    fmt: Annotated[
        str, typer.Option("--format", help="parquet or jsonl (JSON Lines, hex binary).")
    ] = "parquet",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Rewrite chunks that already exist.")
    ] = False,
    u256_types: Annotated[
        list[str] | None,
        typer.Option(
            "--u256-types",
            help="How u256 columns are written: binary, string, f32, f64, u32, u64 "
            "(repeatable or comma-separated; default binary,string,f64 as cryo).",
        ),
    ] = None,
    max_concurrent_chunks: Annotated[
        int, typer.Option("--max-concurrent-chunks", min=1, help="Chunks fetched at once.")
    ] = 4,
    requests_per_second: Annotated[
        float | None,
        typer.Option("--requests-per-second", min=0, help="Rate limit per provider."),
    ] = None,
    network_name: Annotated[
        str | None,
        typer.Option("--network-name", help="File name prefix (default: cryo's, from chain id)."),
    ] = None,
    catalog: Annotated[
        bool, typer.Option("--catalog/--no-catalog", help="Record files in the catalog.")
    ] = True,
    as_json: ResultJsonOption = False,
) -> None:
    """Extract datasets of a block range into chunk files named as cryo names them."""
    from timemachine.archive.extract import ExtractRequest
    from timemachine.archive.layout import FORMATS, parse_blocks
    from timemachine.archive.schemas import parse_datasets, parse_u256_types
    from timemachine.archive.writer import parse_compression
    from timemachine.errors import InvalidInputError

    with reported_errors():
        if fmt not in FORMATS:
            raise InvalidInputError(f"--format {fmt!r}: use parquet or jsonl")
        try:
            block_range = parse_blocks(blocks)
        except ValueError as error:
            raise InvalidInputError(str(error)) from None
        request = ExtractRequest(
            datasets=parse_datasets(datasets),
            blocks=block_range,
            chunk_size=chunk_size,
            compression=parse_compression(compression),
            fmt=fmt,
            u256_types=parse_u256_types(u256_types),
            overwrite=overwrite,
            max_concurrent_chunks=max_concurrent_chunks,
            network=network_name,
        )
    report = run_async(_extract(request, rpc_url, requests_per_second, output_dir, catalog))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    _print_report(report)


async def _extract(
    request: ExtractRequest,
    rpc_url: str | None,
    rate: float | None,
    output_dir: str,
    catalog: bool,
) -> ExtractReport:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from timemachine.archive.catalog import CatalogRecorder
    from timemachine.archive.extract import extract
    from timemachine.archive.storage import ArchiveStorage

    storage = ArchiveStorage(output_dir)
    recorder = CatalogRecorder(_database(), request) if catalog else None
    columns = (
        TextColumn("extracting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("blocks  {task.fields[rate]:,.0f} blocks/s  ETA"),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True)
    async with _open_rpc(rpc_url, rate) as rpc:
        with Progress(
            *columns, console=console, transient=True, disable=not console.is_terminal
        ) as bar:
            task = bar.add_task("extract", total=len(request.blocks), rate=0.0)
            started = bar.get_time()

            def advance(blocks: int) -> None:
                bar.advance(task, blocks)
                done = bar.tasks[0].completed
                bar.update(task, rate=done / max(bar.get_time() - started, 1e-9))

            return await extract(rpc, storage, request, progress=advance, on_file=recorder)


def _print_report(report: ExtractReport) -> None:
    summary = report.as_dict()
    typer.echo(
        f"{summary['network']} blocks {summary['blocks']}: {summary['chunks_written']} files "
        f"written ({summary['rows_written']:,} rows, {summary['bytes_written']:,} bytes), "
        f"{summary['chunks_skipped']} already there; {summary['blocks_fetched']:,} blocks in "
        f"{summary['seconds']}s ({summary['blocks_per_second']:,} blocks/s)"
    )
    steps = report.timings.seconds
    if steps:
        total = sum(steps.values()) or 1.0
        shares = ", ".join(
            f"{step} {seconds:.2f}s ({100 * seconds / total:.0f}%)"
            for step, seconds in sorted(steps.items(), key=lambda item: -item[1])
        )
        typer.echo(f"time by step (summed over concurrent requests): {shares}")


@archive_app.command("list")
def list_command(
    dataset: Annotated[
        list[str] | None, typer.Option("--dataset", "-d", help="Only these datasets.")
    ] = None,
    output_dir: Annotated[
        str | None, typer.Option("--output-dir", "-o", help="Only files under this location.")
    ] = None,
    as_json: ResultJsonOption = False,
) -> None:
    """Chunk files in the catalog: dataset, chain, blocks, rows, bytes, compression, location."""
    from timemachine.archive.catalog import list_chunks
    from timemachine.archive.storage import ArchiveStorage

    with reported_errors():
        under = ArchiveStorage(output_dir).url("") if output_dir else None
        chunks = list_chunks(_database(), datasets=dataset or (), under=under)
    if as_json:
        typer.echo(json.dumps([c.model_dump(mode="json") for c in chunks], indent=2))
        return
    if not chunks:
        typer.echo("no archived chunks in the catalog")
        return
    for chunk in chunks:
        typer.echo(
            f"{chunk.dataset:<14} {chunk.network:<16} {chunk.start_block:>9}:{chunk.end_block:<9} "
            f"{chunk.rows:>9,} rows {chunk.bytes:>11,} B  {chunk.compression:<8} "
            f"v{chunk.schema_version} {chunk.sha256[:12]}  {chunk.location}"
        )
    typer.echo(
        f"{len(chunks)} files, {sum(c.rows for c in chunks):,} rows, "
        f"{sum(c.bytes for c in chunks):,} bytes"
    )


@archive_app.command("verify")
def verify_command(
    output_dir: OutputDir = ".",
    rpc_url: RpcUrls = None,
    sample: Annotated[
        int, typer.Option("--sample", min=0, help="Chunks re-counted against the chain.")
    ] = 3,
) -> None:
    """Read back every chunk under --output-dir: it decodes, its sha256 and rows match the
    catalog; with --rpc-url, a sample's row counts match the chain's."""
    from timemachine.archive.catalog import list_chunks
    from timemachine.archive.storage import ArchiveStorage

    with reported_errors():
        storage = ArchiveStorage(output_dir)
        catalogued = list_chunks(_database(), under=storage.url(""))
    report = run_async(_verify(storage, catalogued, rpc_url, sample))
    for problem in report.problems:
        typer.echo(f"FAILED {problem}", err=True)
    if report.problems:
        fail(
            f"{len(report.problems)} problem(s) in {report.checked} files; first: "
            f"{report.problems[0]}",
            1,
        )
    typer.echo(
        f"{report.checked} files verified ({sum(report.rows.values()):,} rows); "
        f"{report.against_chain} checked against the chain"
    )


async def _verify(
    storage: ArchiveStorage, catalogued: list[ArchiveChunk], rpc_url: str | None, sample: int
) -> VerifyReport:
    from timemachine.archive.verify import verify

    if rpc_url is None:
        return await verify(storage, catalogued)
    async with _open_rpc(rpc_url, None) as rpc:
        return await verify(storage, catalogued, rpc=rpc, sample=sample)
