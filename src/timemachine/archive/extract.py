"""Extraction: a block range cut into chunks, fetched concurrently (bounded), written atomically.

Resumable: a chunk file already under the output location is skipped (unless `overwrite`), so a
run killed half-way is completed by running it again — only the missing chunks are fetched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from timemachine.archive.fetch import ChunkFetcher, Timings
from timemachine.archive.layout import BlockRange, ChunkName, network_name
from timemachine.archive.schemas import DEFAULT_U256_TYPES, Dataset
from timemachine.archive.storage import ArchiveStorage
from timemachine.archive.writer import Compression, encode, to_table
from timemachine.chain.rpc import RpcClient
from timemachine.errors import InvalidInputError
from timemachine.hexutil import parse_int


@dataclass(frozen=True)
class ExtractRequest:
    """What to extract and how to write it (defaults: cryo's)."""

    datasets: Sequence[Dataset]
    blocks: BlockRange
    chunk_size: int = 1000
    compression: Compression = field(default_factory=Compression)
    fmt: str = "parquet"
    u256_types: tuple[str, ...] = DEFAULT_U256_TYPES
    overwrite: bool = False
    max_concurrent_chunks: int = 4
    network: str | None = None
    align: bool = False


@dataclass(frozen=True)
class ChunkFile:
    """One chunk file this run wrote or found already there."""

    name: ChunkName
    location: str
    written: bool
    rows: int = 0
    bytes: int = 0
    sha256: str = ""


@dataclass
class ExtractReport:
    """What a run did, and where its time went."""

    chain_id: int
    network: str
    blocks: BlockRange
    files: list[ChunkFile] = field(default_factory=list)
    seconds: float = 0.0
    timings: Timings = field(default_factory=Timings)
    blocks_fetched: int = 0

    @property
    def written(self) -> list[ChunkFile]:
        return [f for f in self.files if f.written]

    @property
    def skipped(self) -> list[ChunkFile]:
        return [f for f in self.files if not f.written]

    @property
    def blocks_per_second(self) -> float:
        return self.blocks_fetched / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        written = self.written
        return {
            "chain_id": self.chain_id,
            "network": self.network,
            "blocks": f"{self.blocks.start}:{self.blocks.end}",
            "chunks_written": len(written),
            "chunks_skipped": len(self.skipped),
            "rows_written": sum(f.rows for f in written),
            "bytes_written": sum(f.bytes for f in written),
            "blocks_fetched": self.blocks_fetched,
            "seconds": round(self.seconds, 3),
            "blocks_per_second": round(self.blocks_per_second, 1),
            "time_by_step": {k: round(v, 3) for k, v in sorted(self.timings.seconds.items())},
            "files": [f.location for f in written],
        }


async def chain_head(rpc: RpcClient) -> tuple[int, int]:
    """(chain id, head block number) of the node behind `rpc`."""
    chain_id, head = await rpc.batch([("eth_chainId", []), ("eth_blockNumber", [])])
    return parse_int(chain_id), parse_int(head)


def check_range(blocks: BlockRange, head: int, label: str) -> None:
    """InvalidInputError (one line) for a range reaching past the chain head."""
    if blocks.end - 1 > head:
        raise InvalidInputError(
            f"block range {blocks.start}:{blocks.end} goes past the chain head ({head}) of "
            f"{label}; the range ends at {head + 1} at most (B is exclusive)"
        )


async def extract(
    rpc: RpcClient,
    storage: ArchiveStorage,
    request: ExtractRequest,
    *,
    progress: Callable[[int], None] | None = None,
    on_file: Callable[[ChunkFile, ExtractReport], None] | None = None,
) -> ExtractReport:
    """Extract `request` from `rpc` into `storage`; `progress(n)` after each chunk's n blocks,
    `on_file(file, report)` after each file written (the catalog records it)."""
    if request.chunk_size <= 0 or request.max_concurrent_chunks <= 0:
        raise InvalidInputError("--chunk-size and --max-concurrent-chunks must be positive")
    started = time.perf_counter()
    chain_id, head = await chain_head(rpc)
    check_range(request.blocks, head, rpc.label)
    report = ExtractReport(chain_id, request.network or network_name(chain_id), request.blocks)
    await asyncio.to_thread(storage.remove_stale_temps)
    present = set(await asyncio.to_thread(storage.names))
    limit = asyncio.Semaphore(request.max_concurrent_chunks)

    async def run(blocks: BlockRange) -> None:
        names = [ChunkName(report.network, d.name, blocks, request.fmt) for d in request.datasets]
        missing = [
            (dataset, name)
            for dataset, name in zip(request.datasets, names, strict=True)
            if request.overwrite or name.filename not in present
        ]
        report.files.extend(
            ChunkFile(name, storage.url(name.filename), written=False)
            for name in names
            if not request.overwrite and name.filename in present
        )
        if missing:
            async with limit:
                await _write_chunk(rpc, storage, request, report, blocks, missing, on_file)
            report.blocks_fetched += len(blocks)
        if progress is not None:
            progress(len(blocks))

    try:
        async with asyncio.TaskGroup() as group:
            for blocks in request.blocks.chunks(request.chunk_size, align=request.align):
                group.create_task(run(blocks))
    except ExceptionGroup as errors:
        raise _first(errors) from None
    report.seconds = time.perf_counter() - started
    report.files.sort(key=lambda f: (f.name.dataset, f.name.blocks))
    return report


async def _write_chunk(
    rpc: RpcClient,
    storage: ArchiveStorage,
    request: ExtractRequest,
    report: ExtractReport,
    blocks: BlockRange,
    missing: list[tuple[Dataset, ChunkName]],
    on_file: Callable[[ChunkFile, ExtractReport], None] | None,
) -> None:
    full = any("full_blocks" in dataset.needs for dataset, _ in missing)
    fetcher = ChunkFetcher(rpc, blocks, report.chain_id, report.timings, full_blocks=full)
    for dataset, name in missing:
        columns = await fetcher.columns(dataset)
        begun = time.perf_counter()
        table = to_table(dataset, columns, request.u256_types, hex_binary=request.fmt != "parquet")
        encoded = await asyncio.to_thread(encode, table, request.fmt, request.compression)
        report.timings.add("encode", begun)
        begun = time.perf_counter()
        await asyncio.to_thread(storage.write_atomic, name.filename, encoded.data)
        report.timings.add("write", begun)
        file = ChunkFile(
            name,
            storage.url(name.filename),
            written=True,
            rows=encoded.rows,
            bytes=len(encoded.data),
            sha256=encoded.sha256,
        )
        report.files.append(file)
        if on_file is not None:
            on_file(file, report)


def _first(errors: BaseExceptionGroup[BaseException]) -> BaseException:
    first = errors.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
