"""Chunk files on a local disk, found again by their names (`layout.ChunkName`), and written the
way `archive extract` writes them (`writer.encode`, `atomic.write_atomic`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from timemachine.archive.atomic import write_atomic
from timemachine.archive.layout import ChunkName
from timemachine.archive.writer import DEFAULT_COMPRESSION, Compression, encode


@dataclass(frozen=True)
class ChunkFile:
    path: Path
    name: ChunkName


def write_parquet(
    data: pa.Table, path: Path, compression: Compression = DEFAULT_COMPRESSION
) -> int:
    """Write `data` to `path` so that a reader sees the whole file or none; returns its bytes."""
    encoded = encode(data, "parquet", compression)
    write_atomic(path, encoded.data)
    return len(encoded.data)


def chunk_files(root: Path, *, dataset: str | None = None) -> list[ChunkFile]:
    """The chunk files under `root` (any depth; temp and foreign files ignored), by network,
    dataset and first block."""
    found = []
    if root.is_dir():
        for path in root.rglob("*.parquet"):
            name = ChunkName.parse(path.name)
            if name is not None and (dataset is None or name.dataset == dataset):
                found.append(ChunkFile(path, name))
    return sorted(found, key=lambda f: (f.name.network, f.name.dataset, f.name.blocks))
