"""The chain's own datasets (blocks, transactions, logs, traces, …) for continuous archival:
`ChainDatasets` is a `continuous.ChunkExtractor` over the extraction side's fetch and rows code,
so the beat job writes the same files as `archive extract` (cryo's columns and types)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from timemachine.archive.fetch import ChunkFetcher
from timemachine.archive.layout import BlockRange
from timemachine.archive.schemas import DEFAULT_U256_TYPES, parse_datasets
from timemachine.archive.writer import DEFAULT_COMPRESSION, Compression, encode, to_table
from timemachine.ports import ChainRPC


class ChainDatasets:
    """Writes one chunk of one chain dataset, fetched from `rpc`, as a Parquet file."""

    def __init__(
        self,
        rpc: ChainRPC,
        chain_id: int,
        compression: Compression = DEFAULT_COMPRESSION,
        u256_types: Sequence[str] = DEFAULT_U256_TYPES,
    ) -> None:
        self.rpc = rpc
        self.chain_id = chain_id
        self.compression = compression
        self.u256_types = tuple(u256_types)

    async def extract(self, network: str, dataset: str, blocks: BlockRange, dest: Path) -> int:
        [spec] = parse_datasets([dataset])
        columns = await ChunkFetcher(self.rpc, blocks, self.chain_id).columns(spec)
        table = to_table(spec, columns, self.u256_types, hex_binary=False)
        encoded = await asyncio.to_thread(encode, table, "parquet", self.compression)
        await asyncio.to_thread(dest.write_bytes, encoded.data)
        return encoded.rows
