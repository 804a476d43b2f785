"""Columns of our own datasets, typed the way cryo types its own: hashes and addresses as binary,
counters as unsigned integers, and a uint256 as three columns (`x_binary`, 32 bytes big-endian,
which sorts like the number; `x_string`, exact decimal; `x_f64`, for quick filters), as cryo's
default `--u256-types binary string f64` writes them.

A dataset is a list of `Column`s; each reads its value from a record (a dict) by key path, so the
schema and the extraction are one declaration."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from timemachine.hexutil import hex_to_bytes, quantity

Kind = Literal[
    "u32", "u64", "f64", "bool", "string", "binary", "u256", "strings", "binaries", "u32s", "json"
]
U256_SUFFIXES = ("binary", "string", "f64")
U64_MAX = 2**64 - 1

_ARROW: dict[str, pa.DataType] = {
    "u32": pa.uint32(),
    "u64": pa.uint64(),
    "f64": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "binary": pa.binary(),
    "strings": pa.list_(pa.string()),
    "binaries": pa.list_(pa.binary()),
    "u32s": pa.list_(pa.uint32()),
    "json": pa.string(),
}


@dataclass(frozen=True)
class Column:
    """One column: its name, its kind, and how to read it from a record (a dotted key path or a
    function); `doc` goes into docs/archive.md."""

    name: str
    kind: Kind
    source: str | Callable[[dict[str, Any]], Any] | None = None
    doc: str = ""

    def read(self, record: dict[str, Any]) -> Any:
        source = self.source or self.name
        if callable(source):
            return source(record)
        value: Any = record
        for key in source.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def fields(self) -> list[pa.Field]:
        if self.kind == "u256":
            return [
                pa.field(f"{self.name}_binary", pa.binary()),
                pa.field(f"{self.name}_string", pa.string()),
                pa.field(f"{self.name}_f64", pa.float64()),
            ]
        return [pa.field(self.name, _ARROW[self.kind])]

    def values(self, raw: Any) -> list[Any]:
        """The cell(s) of this column for one raw value (None stays null)."""
        if self.kind == "u256":
            number = quantity(raw)
            if number is None:
                return [None, None, None]
            return [u256_bytes(number), str(number), float(number)]
        return [_convert(self.kind, raw)]


def u256_bytes(number: int) -> bytes:
    """32 bytes big-endian (what `x_binary` holds; comparisons on it are numeric)."""
    return number.to_bytes(32, "big")


def _convert(kind: str, raw: Any) -> Any:
    if raw is None:
        return None
    if kind in ("u32", "u64"):
        number = quantity(raw)
        # A uint256 field cryo types as u64 (fees): a value past u64 is null, not a failed chunk.
        return number if number is not None and 0 <= number <= U64_MAX else None
    if kind == "f64":
        return float(raw)
    if kind == "bool":
        return bool(raw)
    if kind == "binary":
        return hex_to_bytes(raw) if isinstance(raw, str) else bytes(raw)
    if kind == "strings":
        return [str(item) for item in raw]
    if kind == "binaries":
        return [hex_to_bytes(item) for item in raw]
    if kind == "u32s":
        return [int(item) for item in raw]
    if kind == "json":
        return json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return str(raw)


def schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema([field for column in columns for field in column.fields()])


def table(columns: Sequence[Column], records: Iterable[dict[str, Any]]) -> pa.Table:
    """The Arrow table of `records` (one row each) under `columns`' schema."""
    target = schema(columns)
    cells: list[list[Any]] = [[] for _ in target]
    for record in records:
        index = 0
        for column in columns:
            for value in column.values(column.read(record)):
                cells[index].append(value)
                index += 1
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(cells, target, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=target)
