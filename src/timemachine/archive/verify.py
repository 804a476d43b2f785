"""`archive verify`: every chunk file under a location is read back and checked — it decodes (a
truncated or corrupt Parquet file is named), its sha256 and row count match the catalog — and a
sample of chunks is re-fetched from the chain to check their row counts against it."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from timemachine.archive.fetch import ChunkFetcher
from timemachine.archive.layout import ChunkName
from timemachine.archive.schemas import DATASETS
from timemachine.archive.storage import ArchiveStorage
from timemachine.archive.writer import decode
from timemachine.chain.rpc import RpcClient
from timemachine.hexutil import parse_int
from timemachine.store.archive import ArchiveChunk


@dataclass(frozen=True)
class Problem:
    location: str
    reason: str

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


@dataclass
class VerifyReport:
    checked: int = 0
    against_chain: int = 0
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    """Rows read back per file location."""


async def verify(
    storage: ArchiveStorage,
    catalogued: Sequence[ArchiveChunk],
    *,
    rpc: RpcClient | None = None,
    sample: int = 3,
) -> VerifyReport:
    """Check the chunk files under `storage` (see the module doc). `catalogued`: the catalog's
    rows for this location (files without one are checked for decoding and against the chain
    only); a catalogued file that is gone is a problem too."""
    report = VerifyReport()
    by_location = {chunk.location: chunk for chunk in catalogued}
    names = [n for n in await asyncio.to_thread(storage.names) if ChunkName.parse(n)]
    seen: set[str] = set()
    readable: list[tuple[ChunkName, int, ArchiveChunk | None]] = []
    for filename in names:
        name = ChunkName.parse(filename)
        assert name is not None
        location = storage.url(filename)
        seen.add(location)
        report.checked += 1
        entry = by_location.get(location)
        data = await asyncio.to_thread(storage.read, filename)
        if entry is not None and hashlib.sha256(data).hexdigest() != entry.sha256:
            report.problems.append(Problem(location, "sha256 differs from the catalog's"))
        try:
            rows = (await asyncio.to_thread(decode, data, name.fmt)).num_rows
        except Exception as error:  # noqa: BLE001 - any decoder failure means a corrupt file
            reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            report.problems.append(Problem(location, f"corrupt {name.fmt} file ({reason})"))
            continue
        report.rows[location] = rows
        if entry is not None and rows != entry.rows:
            report.problems.append(
                Problem(location, f"{rows} rows, the catalog recorded {entry.rows}")
            )
        readable.append((name, rows, entry))
    report.problems.extend(
        Problem(location, "in the catalog but missing from storage")
        for location in by_location
        if location not in seen
    )
    if rpc is not None:
        await _against_chain(rpc, storage, readable, sample, report)
    return report


async def _against_chain(
    rpc: RpcClient,
    storage: ArchiveStorage,
    readable: list[tuple[ChunkName, int, ArchiveChunk | None]],
    sample: int,
    report: VerifyReport,
) -> None:
    """Row counts of `sample` chunks (spread evenly over the list) against the chain's."""
    readable = [item for item in readable if item[0].dataset in DATASETS]
    if not readable or sample <= 0:
        return
    step = max(1, len(readable) // sample)
    chain_id = parse_int(await rpc.call("eth_chainId"))
    for name, rows, _ in readable[::step][:sample]:
        fetcher = ChunkFetcher(rpc, name.blocks, chain_id)
        columns = await fetcher.columns(DATASETS[name.dataset])
        expected = len(next(iter(columns.values())))
        report.against_chain += 1
        if rows != expected:
            report.problems.append(
                Problem(
                    storage.url(name.filename),
                    f"{rows} rows, the chain has {expected} for blocks "
                    f"{name.blocks.start}:{name.blocks.end}",
                )
            )
