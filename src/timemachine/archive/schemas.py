"""The datasets' columns, named and typed as cryo (0.3.2) writes them, in cryo's file order.

A column of kind `u256` is written once per `--u256-types` entry with cryo's suffix
(`value` → `value_binary`, `value_string`, `value_f64` by default). Binary columns are raw bytes in
Parquet and 0x-hex strings in JSON Lines (cryo's `--hex` is implied for text formats, as in cryo).
Parquet types are the large variants (`large_binary`, `large_string`) because that is what cryo's
polars writer produces: a reader sees the same schema in both tools' files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from timemachine.errors import InvalidInputError

Kind = Literal["u32", "u64", "u256", "binary", "string", "bool"]
U256_TYPES = {
    "binary": "binary",
    "string": "string",
    "str": "string",
    "f32": "f32",
    "float32": "f32",
    "f64": "f64",
    "float64": "f64",
    "float": "f64",
    "u32": "u32",
    "uint32": "u32",
    "u64": "u64",
    "uint64": "u64",
}
"""cryo's accepted `--u256-types` spellings → the canonical name (also the column suffix)."""
DEFAULT_U256_TYPES = ("binary", "string", "f64")
SCHEMA_VERSION = 1
"""Bumped when a dataset's columns change; recorded with every chunk in the catalog."""


@dataclass(frozen=True)
class Dataset:
    """One dataset: its columns (name, kind) in file order and the RPC data it needs."""

    name: str
    columns: tuple[tuple[str, Kind], ...]
    needs: frozenset[str]
    """What a chunk must fetch: `blocks`, `full_blocks`, `receipts`, `logs`, `traces`, `diffs`."""
    summary: str


def _cols(spec: str) -> tuple[tuple[str, Kind], ...]:
    pairs = (item.split(":") for item in spec.split())
    return tuple((name, kind) for name, kind in pairs)  # type: ignore[misc]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "blocks",
            _cols(
                "block_hash:binary author:binary block_number:u32 gas_used:u64 "
                "extra_data:binary timestamp:u32 base_fee_per_gas:u64 chain_id:u64"
            ),
            frozenset({"blocks"}),
            "one row per block (eth_getBlockByNumber)",
        ),
        Dataset(
            "transactions",
            _cols(
                "block_number:u32 transaction_index:u64 transaction_hash:binary nonce:u64 "
                "from_address:binary to_address:binary value:u256 input:binary gas_limit:u64 "
                "gas_used:u64 gas_price:u64 transaction_type:u32 max_priority_fee_per_gas:u64 "
                "max_fee_per_gas:u64 success:bool n_input_bytes:u32 n_input_zero_bytes:u32 "
                "n_input_nonzero_bytes:u32 chain_id:u64"
            ),
            frozenset({"full_blocks", "receipts"}),
            "one row per transaction, with its receipt's gas used and status",
        ),
        Dataset(
            "logs",
            _cols(
                "block_number:u32 transaction_index:u32 log_index:u32 transaction_hash:binary "
                "address:binary topic0:binary topic1:binary topic2:binary topic3:binary "
                "data:binary chain_id:u64"
            ),
            frozenset({"logs"}),
            "one row per event log (eth_getLogs)",
        ),
        Dataset(
            "traces",
            _cols(
                "action_from:binary action_to:binary action_value:string action_gas:u32 "
                "action_input:binary action_call_type:string action_init:binary "
                "action_reward_type:string action_type:string result_gas_used:u32 "
                "result_output:binary result_code:binary result_address:binary "
                "trace_address:string subtraces:u32 transaction_index:u32 "
                "transaction_hash:binary block_number:u32 block_hash:binary error:string "
                "chain_id:u64"
            ),
            frozenset({"traces"}),
            "one row per call frame, flattened with its trace address (trace_block, or "
            "debug_traceBlockByNumber callTracer)",
        ),
        Dataset(
            "balance_diffs",
            _cols(
                "block_number:u32 transaction_index:u32 transaction_hash:binary address:binary "
                "from_value:u256 to_value:u256 chain_id:u64"
            ),
            frozenset({"diffs"}),
            "one row per account whose balance a transaction changed",
        ),
        Dataset(
            "storage_diffs",
            _cols(
                "block_number:u32 transaction_index:u32 transaction_hash:binary address:binary "
                "slot:binary from_value:binary to_value:binary chain_id:u64"
            ),
            frozenset({"diffs"}),
            "one row per storage slot a transaction changed",
        ),
    )
}


def parse_datasets(names: Sequence[str]) -> list[Dataset]:
    """Datasets by name (comma- or space-separated items); InvalidInputError naming an unknown
    one and the known ones."""
    wanted = [part for name in names for part in name.replace(",", " ").split()]
    if not wanted:
        raise InvalidInputError(f"name at least one dataset: {', '.join(DATASETS)}")
    unknown = [name for name in wanted if name not in DATASETS]
    if unknown:
        raise InvalidInputError(
            f"unknown dataset {unknown[0]!r}; known datasets: {', '.join(DATASETS)}"
        )
    return [DATASETS[name] for name in dict.fromkeys(wanted)]


def parse_u256_types(names: Sequence[str] | None) -> tuple[str, ...]:
    """`--u256-types` as cryo reads it (default binary, string, f64)."""
    if not names:
        return DEFAULT_U256_TYPES
    items = [part.lower() for name in names for part in name.replace(",", " ").split()]
    bad = [item for item in items if item not in U256_TYPES]
    if bad or not items:
        raise InvalidInputError(
            f"invalid u256 type {bad[0] if bad else ''!r}; use binary, string, f32, f64, u32 or u64"
        )
    return tuple(dict.fromkeys(U256_TYPES[item] for item in items))


_ARROW: dict[str, pa.DataType] = {
    "u32": pa.uint32(),
    "u64": pa.uint64(),
    "f32": pa.float32(),
    "f64": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.large_string(),
    "binary": pa.large_binary(),
}


def arrow_schema(dataset: Dataset, u256_types: Sequence[str], *, hex_binary: bool) -> pa.Schema:
    """The file schema of `dataset` (u256 columns expanded; binary as hex text when asked)."""
    fields: list[pa.Field] = []
    for name, kind in dataset.columns:
        if kind == "u256":
            fields.extend(
                pa.field(f"{name}_{u256}", _type(u256, hex_binary)) for u256 in u256_types
            )
        else:
            fields.append(pa.field(name, _type(kind, hex_binary)))
    return pa.schema(fields)


def _type(kind: str, hex_binary: bool) -> pa.DataType:
    if kind == "binary" and hex_binary:
        return pa.large_string()
    return _ARROW[kind]
