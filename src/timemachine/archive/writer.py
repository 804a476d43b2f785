"""Chunk files: dataset columns encoded as Parquet (pyarrow) or JSON Lines, in memory.

The bytes are then handed to `storage.ArchiveStorage.write_atomic`, so a chunk is either wholly
there or not there at all. Pickle is not offered: loading a pickle runs code chosen by whoever
wrote the file, and an archive is meant to be shared.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from timemachine.archive.rows import Columns
from timemachine.archive.schemas import Dataset, arrow_schema
from timemachine.errors import InvalidInputError

CODECS = ("lz4", "zstd", "gzip", "snappy", "brotli", "none")
LEVELED = ("zstd", "gzip", "brotli")
ROW_GROUP_ROWS = 100_000
"""Rows per Parquet row group: each has min/max statistics, so a block range or address filter
skips the groups that cannot match."""


@dataclass(frozen=True)
class Compression:
    """A Parquet codec and its level (None: the codec's default)."""

    codec: str = "lz4"
    level: int | None = None

    def __str__(self) -> str:
        return self.codec if self.level is None else f"{self.codec} {self.level}"


DEFAULT_COMPRESSION = Compression()
"""lz4, cryo's default."""


def parse_compression(text: str) -> Compression:
    """`lz4`, `zstd 3` (or `zstd:3`), `gzip 6`, `snappy`, `none` as cryo's `--compression` (and
    the `COMPRESSION_TYPE` setting)."""
    parts = text.replace(":", " ").lower().split()
    codec = "none" if parts[:1] == ["uncompressed"] else (parts[0] if parts else "")
    if codec not in CODECS or len(parts) > 2:
        raise InvalidInputError(
            f"compression {text!r}: use lz4, zstd N, gzip N, brotli N, snappy or none"
        )
    if len(parts) == 1:
        return Compression(codec)
    if codec not in LEVELED or not parts[1].isdigit():
        raise InvalidInputError(
            f"compression {text!r}: only zstd, gzip and brotli take a level (a number)"
        )
    return Compression(codec, int(parts[1]))


@dataclass(frozen=True)
class Encoded:
    """One chunk file's bytes and what the catalog records of it."""

    data: bytes
    rows: int
    sha256: str


def to_table(
    dataset: Dataset, columns: Columns, u256_types: Sequence[str], *, hex_binary: bool
) -> pa.Table:
    """The Arrow table of `columns` with the file schema (u256 expanded, binary hex if asked)."""
    schema = arrow_schema(dataset, u256_types, hex_binary=hex_binary)
    arrays: list[pa.Array] = []
    for name, kind in dataset.columns:
        values = columns[name]
        if kind == "u256":
            arrays.extend(_u256(values, u256, hex_binary) for u256 in u256_types)
        elif kind == "binary" and hex_binary:
            arrays.append(pa.array([_hex(v) for v in values], pa.large_string()))
        else:
            arrays.append(pa.array(values, schema.field(len(arrays)).type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _hex(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


def _u256(values: list[Any], kind: str, hex_binary: bool) -> pa.Array:
    if kind == "binary":
        words = [None if v is None else int(v).to_bytes(32, "big") for v in values]
        if hex_binary:
            return pa.array([_hex(w) for w in words], pa.large_string())
        return pa.array(words, pa.large_binary())
    if kind == "string":
        return pa.array([None if v is None else str(v) for v in values], pa.large_string())
    if kind in ("f64", "f32"):
        floats = pa.array([None if v is None else float(v) for v in values], pa.float64())
        return floats if kind == "f64" else floats.cast(pa.float32())
    bits = 32 if kind == "u32" else 64
    if any(v is not None and v >= 1 << bits for v in values):
        raise InvalidInputError(
            f"a u256 value does not fit --u256-types {kind}; use binary or string"
        )
    return pa.array(values, pa.uint32() if bits == 32 else pa.uint64())


def encode(table: pa.Table, fmt: str, compression: Compression) -> Encoded:
    """The file bytes of `table` in `fmt` (`parquet` or `jsonl`; JSON Lines is uncompressed)."""
    if fmt == "parquet":
        buffer = io.BytesIO()
        pq.write_table(
            table,
            buffer,
            compression=None if compression.codec == "none" else compression.codec,
            compression_level=compression.level,
            row_group_size=ROW_GROUP_ROWS,
        )
        data = buffer.getvalue()
    else:
        lines = (json.dumps(row, separators=(",", ":")) for row in table.to_pylist())
        data = "".join(f"{line}\n" for line in lines).encode()
    return Encoded(data, table.num_rows, hashlib.sha256(data).hexdigest())


def decode(data: bytes, fmt: str) -> pa.Table:
    """A chunk file's table (ValueError/ArrowInvalid for a corrupt or truncated one)."""
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(data))
    rows = [json.loads(line) for line in data.decode().splitlines() if line]
    return pa.Table.from_pylist(rows)
