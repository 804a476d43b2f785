"""The archive's parts without a chain: cryo's chunking and naming, option parsing, u256 columns,
atomic local writes, the catalog repository, and verify on a damaged directory."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from timemachine.archive.layout import BlockRange, ChunkName, network_name, parse_blocks
from timemachine.archive.rows import block_rows
from timemachine.archive.schemas import DATASETS, arrow_schema, parse_datasets, parse_u256_types
from timemachine.archive.storage import ArchiveStorage
from timemachine.archive.verify import verify
from timemachine.archive.writer import Compression, decode, encode, parse_compression, to_table
from timemachine.errors import InvalidInputError
from timemachine.store import open_database
from timemachine.store.archive import ArchiveCatalog, ArchiveChunk


def spans(chunks: list[BlockRange]) -> list[tuple[int, int]]:
    return [(c.start, c.end - 1) for c in chunks]


def test_chunks_start_at_the_range_start_as_cryos_do() -> None:
    # cryo 0.3.2: `--blocks 10:123 --chunk-size 50` writes 10-59, 60-109, 110-122
    assert spans(BlockRange(10, 123).chunks(50)) == [(10, 59), (60, 109), (110, 122)]
    assert spans(BlockRange(0, 123).chunks(50)) == [(0, 49), (50, 99), (100, 122)]
    assert spans(BlockRange(10, 123).chunks(50, align=True)) == [(10, 49), (50, 99), (100, 122)]
    assert spans(BlockRange(5, 6).chunks(1000)) == [(5, 5)]


def test_chunk_names_are_cryos() -> None:
    name = ChunkName(network_name(31337), "blocks", BlockRange(110, 123))
    assert name.filename == "network_31337__blocks__00000110_to_00000122.parquet"
    assert ChunkName.parse(name.filename) == name
    assert ChunkName.parse(f".{name.filename}.tmp-12-ab") is None
    assert network_name(1) == "ethereum"
    assert parse_blocks("10:123") == BlockRange(10, 123)
    with pytest.raises(ValueError, match="not A:B"):
        parse_blocks("10-123")


def test_options_parse_like_cryos() -> None:
    assert parse_compression("lz4") == Compression("lz4")
    assert parse_compression("zstd 3") == parse_compression("zstd:3") == Compression("zstd", 3)
    assert parse_compression("uncompressed") == Compression("none")
    for bad in ("lzma", "snappy 3", "gzip x"):
        with pytest.raises(InvalidInputError, match="compression"):
            parse_compression(bad)
    assert parse_u256_types(None) == ("binary", "string", "f64")
    assert parse_u256_types(["str,float", "u64"]) == ("string", "f64", "u64")
    with pytest.raises(InvalidInputError, match="invalid u256 type 'u128'"):
        parse_u256_types(["u128"])
    assert [d.name for d in parse_datasets(["blocks,logs", "blocks"])] == ["blocks", "logs"]
    with pytest.raises(InvalidInputError, match="unknown dataset 'receipts'; known datasets: "):
        parse_datasets(["receipts"])


def test_u256_columns_expand_per_type() -> None:
    dataset = DATASETS["balance_diffs"]
    big = 2**200 + 7
    columns: dict[str, list[object]] = {name: [] for name, _ in dataset.columns}
    for name, value in (
        ("block_number", 1),
        ("transaction_index", 0),
        ("transaction_hash", b"\x01" * 32),
        ("address", b"\x02" * 20),
        ("from_value", 5),
        ("to_value", big),
        ("chain_id", 1),
    ):
        columns[name].append(value)
    table = to_table(dataset, columns, ("binary", "string", "f32"), hex_binary=False)
    assert table.column_names[4:7] == ["from_value_binary", "from_value_string", "from_value_f32"]
    row = table.to_pylist()[0]
    assert row["to_value_binary"] == big.to_bytes(32, "big")
    assert row["to_value_string"] == str(big)
    assert row["from_value_f32"] == 5.0
    assert table.schema.field("to_value_f32").type == pa.float32()
    text = to_table(dataset, columns, ("binary",), hex_binary=True).to_pylist()[0]
    assert text["address"] == "0x" + "02" * 20
    assert text["from_value_binary"] == "0x" + "00" * 31 + "05"
    with pytest.raises(InvalidInputError, match="does not fit --u256-types u64"):
        to_table(dataset, columns, ("u64",), hex_binary=False)


BLOCK = {
    "hash": "0x" + "ab" * 32,
    "miner": "0x" + "00" * 20,
    "number": "0x7",
    "gasUsed": "0x5208",
    "extraData": "0x",
    "timestamp": "0x10",
    "baseFeePerGas": "0x3b9aca00",
}


LZ4 = Compression()


def blocks_file(compression: Compression = LZ4) -> bytes:
    table = to_table(DATASETS["blocks"], block_rows([BLOCK], 1), (), hex_binary=False)
    assert table.schema == arrow_schema(DATASETS["blocks"], (), hex_binary=False)
    return encode(table, "parquet", compression).data


def test_encoded_files_decode_to_the_rows() -> None:
    for codec in ("lz4", "zstd 9", "gzip 6", "snappy", "none"):
        rows = decode(blocks_file(parse_compression(codec)), "parquet").to_pylist()
        assert rows == [
            {
                "block_hash": b"\xab" * 32,
                "author": b"\x00" * 20,
                "block_number": 7,
                "gas_used": 21_000,
                "extra_data": b"",
                "timestamp": 16,
                "base_fee_per_gas": 1_000_000_000,
                "chain_id": 1,
            }
        ]


def test_local_writes_are_atomic_and_stale_temps_are_removed(tmp_path: Path) -> None:
    storage = ArchiveStorage(tmp_path / "archive")
    storage.write_atomic("a.parquet", b"one")
    storage.write_atomic("a.parquet", b"two")
    assert storage.names() == ["a.parquet"]
    assert storage.read("a.parquet") == b"two"
    code = "import os; print(os.getpid())"
    dead = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    stale = tmp_path / "archive" / f".b.parquet.tmp-{dead.stdout.strip()}-0a1b2c3d"
    stale.write_bytes(b"partial")
    mine = tmp_path / "archive" / f".c.parquet.tmp-{os.getpid()}-0a1b2c3d"
    mine.write_bytes(b"in progress")
    assert storage.remove_stale_temps() == 1
    assert not stale.exists()
    assert mine.exists()


def entry(location: str, data: bytes, rows: int) -> ArchiveChunk:
    return ArchiveChunk(
        location=location,
        dataset="blocks",
        chain_id=1,
        network="ethereum",
        start_block=7,
        end_block=8,
        rows=rows,
        bytes=len(data),
        file_format="parquet",
        compression="lz4",
        u256_types="binary,string,f64",
        schema_version=1,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def test_catalog_records_replaces_and_marks_deleted(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'catalog.db'}")
    try:
        with database.session() as session:
            catalog = ArchiveCatalog(session)
            catalog.record(entry("/a/ethereum__blocks__00000007_to_00000007.parquet", b"x", 1))
            catalog.record(entry("/b/ethereum__blocks__00000007_to_00000007.parquet", b"y", 1))
            catalog.record(entry("/a/ethereum__blocks__00000007_to_00000007.parquet", b"zz", 1))
        with database.session() as session:
            catalog = ArchiveCatalog(session)
            (under_a,) = catalog.chunks(under="/a/")
            assert under_a.bytes == 2
            assert catalog.mark_deleted(under_a.location, "retention: older than 30 days")
            assert not catalog.mark_deleted("/nowhere", "gone")
        with database.session() as session:
            catalog = ArchiveCatalog(session)
            assert [c.location[:2] for c in catalog.chunks()] == ["/b"]
            (deleted,) = catalog.chunks(under="/a/", include_deleted=True)
            assert deleted.note == "retention: older than 30 days"
            assert deleted.deleted_at is not None
    finally:
        database.dispose()


async def test_verify_names_corrupt_changed_and_missing_files(tmp_path: Path) -> None:
    storage = ArchiveStorage(tmp_path)
    good = blocks_file()
    names = [f"ethereum__blocks__0000000{n}_to_0000000{n}.parquet" for n in range(4)]
    for name in names[:3]:
        storage.write_atomic(name, good)
    (tmp_path / names[1]).write_bytes(good[:100])  # truncated
    catalogued = [entry(storage.url(name), good, 1) for name in names]
    catalogued[2] = entry(storage.url(names[2]), good, 2)  # the catalog says 2 rows
    report = await verify(storage, catalogued)
    assert report.checked == 3
    assert [str(p).split(": ", 1)[1].split(" (")[0] for p in report.problems] == [
        "sha256 differs from the catalog's",
        "corrupt parquet file",
        "1 rows, the catalog recorded 2",
        "in the catalog but missing from storage",
    ]
    assert [p.location for p in report.problems] == [storage.url(names[i]) for i in (1, 1, 2, 3)]
