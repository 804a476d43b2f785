"""Our own datasets (mempool, MEV per type, alerts, replays) as archive chunks, read from the
store: `OwnDatasets` is a `continuous.ChunkExtractor` for them."""

from __future__ import annotations

from pathlib import Path

from timemachine.archive.chunkfile import write_parquet
from timemachine.archive.headers import BlockClock, clock
from timemachine.archive.layout import BlockRange
from timemachine.archive.own.columns import table
from timemachine.archive.own.datasets import DATASETS, OwnDataset, Scope
from timemachine.archive.writer import DEFAULT_COMPRESSION, Compression
from timemachine.errors import InvalidInputError
from timemachine.ports import ChainRPC
from timemachine.store import Database

__all__ = ["DATASETS", "OwnDataset", "OwnDatasets"]


class OwnDatasets:
    """Writes one chunk of one of our datasets from the store. The chain (`rpc`) is the clock
    that places timed rows in blocks; the range given must be final, the block after it too."""

    def __init__(
        self,
        db: Database,
        rpc: ChainRPC,
        chain_id: int,
        compression: Compression = DEFAULT_COMPRESSION,
    ) -> None:
        self.db = db
        self.rpc = rpc
        self.chain_id = chain_id
        self.compression = compression
        self._clock: tuple[BlockRange, BlockClock] | None = None

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(DATASETS)

    async def extract(self, network: str, dataset: str, blocks: BlockRange, dest: Path) -> int:
        spec = DATASETS.get(dataset)
        if spec is None:
            raise InvalidInputError(f"unknown dataset {dataset!r}; ours are {', '.join(DATASETS)}")
        scope = Scope(network, self.chain_id, blocks, await self._clock_of(blocks))
        with self.db.session() as s:
            records = [{**row, "_chain_id": self.chain_id} for row in spec.source(s, scope)]
        records.sort(key=lambda row: int(row["_block"]))
        write_parquet(table(spec.columns, records), dest, self.compression)
        return len(records)

    async def _clock_of(self, blocks: BlockRange) -> BlockClock:
        """One range's clock, reused by every dataset of that range (final blocks only)."""
        if self._clock is None or self._clock[0] != blocks:
            self._clock = (blocks, await clock(self.rpc, blocks))
        return self._clock[1]
