"""Continuous archival: each run writes every dataset's chunks from where the archive ends up
to the chain's finality, and never a block that can still be reorganized.

- Only final blocks are archived, and only up to the block before the final one: the final
  block's timestamp closes the clock window of the last chunk (`headers.BlockClock`).
- Rows not final yet are not written anywhere: they stay in their source (the node, the store,
  whose repositories replace what a reorg changed), so a reorg above finality has nothing here
  to undo. "Pending" is simply "not archived yet".
- Finality can still be wrong (a reorg deeper than the confirmations). So each chunk is checked
  before it is published: the range's headers are read before extraction and again after, and a
  chunk is renamed into place only if the last block's hash did not change (a block's hash
  commits to all its ancestors) and, for datasets with `block_hash`, every row's hash is the
  canonical one. Otherwise the chunk is discarded and extracted again by a later run.

Extractors are plugged in through `ChunkExtractor`: the chain's datasets'
(`archive.chain_datasets.ChainDatasets`) and our own datasets' (`archive.own.OwnDatasets`).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pyarrow.parquet as pq

from timemachine.archive.chunkfile import chunk_files
from timemachine.archive.headers import Header, final_block, headers
from timemachine.archive.layout import BlockRange, ChunkName
from timemachine.logs import get_logger
from timemachine.ports import ChainRPC

log = get_logger(__name__)
STALE_EXTRACTION_SECONDS = 86_400.0


class ChunkExtractor(Protocol):
    """Writes one dataset's rows of one block range to `dest` (a Parquet file); returns rows."""

    async def extract(self, network: str, dataset: str, blocks: BlockRange, dest: Path) -> int: ...


@dataclass(frozen=True)
class Written:
    file: str
    dataset: str
    blocks: BlockRange
    rows: int
    bytes: int
    sha256: str


@dataclass
class ArchiveRun:
    """What one run did."""

    network: str
    final_block: int
    written: list[Written] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)
    """Chunks extracted while a reorg changed their range (extracted again next run)."""


@dataclass(frozen=True)
class ArchiveTarget:
    """What to archive of one network."""

    network: str
    extractors: Mapping[str, ChunkExtractor]
    """Dataset name → its extractor."""
    chunk_size: int = 1000
    confirmations: int | None = None
    """Blocks below the head that count as final; None: the node's `finalized` block."""
    start_block: int = 0
    """Where an empty archive starts."""
    max_chunks: int = 100
    """Chunks per dataset per run at most (a run stays bounded; the next one goes on)."""


class ContinuousArchiver:
    def __init__(self, root: Path, rpc: ChainRPC, target: ArchiveTarget) -> None:
        self.root = root
        self.rpc = rpc
        self.target = target
        self._headers: dict[BlockRange, list[Header]] = {}

    def archived_until(self, dataset: str) -> int:
        """The block after the last archived one of `dataset` (the start block if none)."""
        ends = [
            f.name.blocks.end
            for f in chunk_files(self.root, dataset=dataset)
            if f.name.network == self.target.network
        ]
        return max([self.target.start_block, *ends])

    async def run_once(self) -> ArchiveRun:
        target = self.target
        self._sweep_stale_extractions()
        final = await final_block(self.rpc, target.confirmations)
        run = ArchiveRun(target.network, final)
        self._headers.clear()
        for dataset, extractor in target.extractors.items():
            start = self.archived_until(dataset)
            if start >= final:  # the final block itself only closes the last window
                continue
            for blocks in BlockRange(start, final).chunks(target.chunk_size, align=True)[
                : target.max_chunks
            ]:
                if not await self._archive(dataset, extractor, blocks, run):
                    break
        log.info(
            "archive run",
            network=target.network,
            final=final,
            written=len(run.written),
            discarded=len(run.discarded),
        )
        return run

    async def _archive(
        self, dataset: str, extractor: ChunkExtractor, blocks: BlockRange, run: ArchiveRun
    ) -> bool:
        name = ChunkName(self.target.network, dataset, blocks)
        before = await self._range_headers(blocks)
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f".{name.filename}.{uuid.uuid4().hex}.extracting"
        try:
            rows = await extractor.extract(self.target.network, dataset, blocks, temp)
            reason = await self._changed(blocks, before, temp)
            if reason is not None:
                log.warning("archive chunk discarded", chunk=name.filename, reason=reason)
                run.discarded.append(name.filename)
                return False
            data = temp.read_bytes()
            temp.replace(self.root / name.filename)
        finally:
            temp.unlink(missing_ok=True)
        sha256 = hashlib.sha256(data).hexdigest()
        run.written.append(Written(name.filename, dataset, blocks, rows, len(data), sha256))
        return True

    def _sweep_stale_extractions(self) -> None:
        """Temp files of runs killed mid-extraction (a live run's are younger than a day)."""
        if not self.root.is_dir():
            return
        cutoff = time.time() - STALE_EXTRACTION_SECONDS
        for temp in self.root.glob(f".{self.target.network}__*.extracting"):
            if temp.stat().st_mtime < cutoff:
                temp.unlink(missing_ok=True)

    async def _range_headers(self, blocks: BlockRange) -> list[Header]:
        """The range's headers and the next block's, as read before the first extraction."""
        if blocks not in self._headers:
            self._headers[blocks] = await headers(self.rpc, blocks.start, blocks.end)
        return self._headers[blocks]

    async def _changed(self, blocks: BlockRange, before: list[Header], chunk: Path) -> str | None:
        """Why the chunk may hold orphaned data (None: it holds the canonical chain's)."""
        now = await headers(self.rpc, blocks.end - 1, blocks.end)
        if [h.hash for h in now] != [h.hash for h in before[-2:]]:
            self._headers.pop(blocks, None)
            return f"blocks {blocks.start}:{blocks.end} were reorganized during extraction"
        names = set(pq.read_schema(chunk).names)
        if {"block_number", "block_hash"} <= names:
            canonical = {h.number: bytes.fromhex(h.hash[2:]) for h in before}
            written = pq.read_table(chunk, columns=["block_number", "block_hash"]).to_pylist()
            for row in written:
                if canonical.get(row["block_number"]) != row["block_hash"]:
                    return f"block {row['block_number']} was extracted from a reorganized branch"
        return None
