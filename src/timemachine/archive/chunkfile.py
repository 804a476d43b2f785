"""Chunk files on disk: written atomically (a hidden temp file in the same directory, fsynced,
then renamed, as cryo does), found again by their names (`layout.ChunkName`)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from timemachine.archive.layout import ChunkName
from timemachine.errors import InvalidInputError

COMPRESSIONS = ("lz4", "zstd", "gzip", "snappy", "none")
"""What `COMPRESSION_TYPE` accepts, with an optional level (`zstd 3`, `gzip 6`); lz4 is cryo's
default."""


@dataclass(frozen=True)
class Compression:
    codec: str = "lz4"
    level: int | None = None

    @classmethod
    def parse(cls, text: str) -> Compression:
        """`lz4`, `zstd 3`, `gzip 6`, `snappy` or `none`; InvalidInputError otherwise."""
        parts = text.split()
        if not parts or parts[0].lower() not in COMPRESSIONS or len(parts) > 2:
            raise InvalidInputError(
                f"compression {text!r} is not one of {', '.join(COMPRESSIONS)} (with a level "
                "for zstd and gzip, e.g. 'zstd 3')"
            )
        codec = parts[0].lower()
        if len(parts) == 1:
            return cls(codec)
        if codec not in ("zstd", "gzip") or not parts[1].isdigit():
            raise InvalidInputError(f"compression {text!r}: only zstd and gzip take a level")
        return cls(codec, int(parts[1]))


DEFAULT_COMPRESSION = Compression()


@dataclass(frozen=True)
class ChunkFile:
    path: Path
    name: ChunkName


def write_parquet(
    data: pa.Table, path: Path, compression: Compression = DEFAULT_COMPRESSION
) -> int:
    """Write `data` to `path` so that a reader sees the whole file or none; returns its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(
            data,
            temp,
            compression=compression.codec,
            compression_level=compression.level,
            row_group_size=ROW_GROUP_ROWS,
        )
        with temp.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path.stat().st_size


ROW_GROUP_ROWS = 100_000
"""Rows per Parquet row group: each has min/max statistics, so a block range or address filter
skips the groups that cannot match."""


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
