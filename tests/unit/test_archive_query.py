"""DuckDB over archive chunks: every dataset a view, filtered cursor pages equal to a plain
Python filter over the same rows, selector/value/time filters, and one clear line for a corrupt
file or a bad query (library and CLI)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from tests.unit.archive_support import TRANSFER, cryo_logs
from timemachine.archive.chunkfile import chunk_files, write_parquet
from timemachine.archive.layout import BlockRange, ChunkName
from timemachine.archive.own.columns import Column, table
from timemachine.archive.query import ArchiveQuery, Filters
from timemachine.cli.archive_query import query_command, register
from timemachine.errors import InvalidInputError, NotFoundError, StorageError

BLOCKS = BlockRange(0, 30)
LOGS_PER_BLOCK = 4


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    cryo_logs(root, BLOCKS, logs_per_block=LOGS_PER_BLOCK, chunk_size=10)
    return root


def all_logs(root: Path) -> list[dict[str, Any]]:
    """The oracle: every row, read with pyarrow, in block then log order."""
    rows = [r for f in chunk_files(root) for r in pq.read_table(f.path).to_pylist()]
    return sorted(rows, key=lambda r: (r["block_number"], r["log_index"]))


def test_each_dataset_is_a_view_with_cryos_columns(archive: Path) -> None:
    with ArchiveQuery.under(archive) as query:
        assert set(query.datasets) == {"logs"}
        assert len(query.datasets["logs"]) == 3
        described = query.sql("DESCRIBE logs")
        assert [(row[0], row[1]) for row in described.rows] == [
            ("block_number", "UINTEGER"),
            ("block_hash", "BLOB"),
            ("transaction_index", "UINTEGER"),
            ("log_index", "UINTEGER"),
            ("transaction_hash", "BLOB"),
            ("address", "BLOB"),
            ("topic0", "BLOB"),
            ("topic1", "BLOB"),
            ("topic2", "BLOB"),
            ("topic3", "BLOB"),
            ("data", "BLOB"),
            ("n_data_bytes", "UINTEGER"),
            ("chain_id", "UBIGINT"),
        ]
        counted = query.sql(
            "SELECT count(*) AS n, min(block_number) AS lo, max(block_number) AS hi FROM logs"
        )
        assert counted.records() == [{"n": 120, "lo": 0, "hi": 29}]


def test_filtered_pages_walk_exactly_the_matching_rows(archive: Path) -> None:
    rows = all_logs(archive)
    hot = Counter(r["address"] for r in rows if 3 <= r["block_number"] < 27).most_common(1)[0][0]
    expected = [
        (r["block_number"], r["log_index"])
        for r in rows
        if r["address"] == hot and 3 <= r["block_number"] < 27
    ]
    assert len(expected) >= 3  # the hottest contract appears often enough to page through
    seen: list[tuple[int, int]] = []
    cursor = None
    with ArchiveQuery.under(archive) as query:
        while True:
            page = query.page(
                "logs", Filters(from_block=3, to_block=27, address=hot), cursor=cursor, limit=2
            )
            seen.extend((r["block_number"], r["log_index"]) for r in page.records())
            assert all(r["address"] == "0x" + hot.hex() for r in page.records())
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == expected


def test_cursor_resumes_inside_a_block(archive: Path) -> None:
    every = [(r["block_number"], r["log_index"]) for r in all_logs(archive)]
    with ArchiveQuery.under(archive) as query:
        first = query.page("logs", Filters(), limit=6)  # block 0's 4 logs and 2 of block 1
        assert first.next_cursor == "1:2"
        second = query.page("logs", Filters(), cursor=first.next_cursor, limit=3)
    got = [(r["block_number"], r["log_index"]) for r in first.records() + second.records()]
    assert got == every[:9]
    assert second.next_cursor == "2:1"


def test_topic0_filter_equals_python(archive: Path) -> None:
    transfer = bytes.fromhex(TRANSFER)
    expected = [
        (r["block_number"], r["log_index"]) for r in all_logs(archive) if r["topic0"] == transfer
    ]
    with ArchiveQuery.under(archive) as query:
        page = query.page("logs", Filters(topic0=transfer), limit=1000)
    assert [(r["block_number"], r["log_index"]) for r in page.records()] == expected
    assert page.next_cursor is None


TXS = (
    Column("block_number", "u32"),
    Column("transaction_index", "u32"),
    Column("from_address", "binary"),
    Column("to_address", "binary"),
    Column("value", "u256"),
    Column("input", "binary"),
    Column("timestamp", "u32"),
)


@pytest.fixture(scope="module")
def transactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("txs")
    rows = [
        {"block_number": 5, "transaction_index": 0, "from_address": "0x" + "11" * 20,
         "to_address": "0x" + "22" * 20, "value": 10**18, "input": "0xa9059cbb" + "00" * 64,
         "timestamp": 1_000},
        {"block_number": 6, "transaction_index": 0, "from_address": "0x" + "22" * 20,
         "to_address": None, "value": 2**200, "input": "0xa9059cbc", "timestamp": 1_012},
        {"block_number": 7, "transaction_index": 0, "from_address": "0x" + "33" * 20,
         "to_address": "0x" + "11" * 20, "value": 5, "input": "0x", "timestamp": 1_024},
        {"block_number": 7, "transaction_index": 1, "from_address": "0x" + "33" * 20,
         "to_address": "0x" + "44" * 20, "value": 0, "input": "0xffffffff01", "timestamp": 1_024},
    ]  # fmt: skip
    write_parquet(
        table(TXS, rows), root / ChunkName("devnet", "transactions", BlockRange(5, 8)).filename
    )
    blocks = [{"block_number": n, "timestamp": 1_000 + 12 * (n - 5)} for n in range(5, 8)]
    columns = (Column("block_number", "u32"), Column("timestamp", "u32"))
    write_parquet(
        table(columns, blocks), root / ChunkName("devnet", "blocks", BlockRange(5, 8)).filename
    )
    return root


def _keys(query: ArchiveQuery, dataset: str, filters: Filters) -> list[tuple[int, int]]:
    page = query.page(dataset, filters, limit=100)
    return [(r["block_number"], r["transaction_index"]) for r in page.records()]


def test_selector_value_address_and_time_filters(transactions: Path) -> None:
    with ArchiveQuery.under(transactions) as query:
        transfer = bytes.fromhex("a9059cbb")
        assert _keys(query, "transactions", Filters(selector=transfer)) == [(5, 0)]
        assert _keys(query, "transactions", Filters(selector=b"\xff\xff\xff\xff")) == [(7, 1)]
        assert _keys(query, "transactions", Filters(min_value=10**18)) == [(5, 0), (6, 0)]
        assert _keys(query, "transactions", Filters(min_value=2**200 + 1)) == []
        with pytest.raises(InvalidInputError, match=r"min_value \d+ is not a uint256"):
            query.page("transactions", Filters(min_value=2**256))
        assert _keys(query, "transactions", Filters(address=b"\x11" * 20)) == [(5, 0), (7, 0)]
        # a time column of its own ...
        assert _keys(query, "transactions", Filters(from_time=1_012, to_time=1_024)) == [(6, 0)]
        record = query.page("transactions", Filters(min_value=2**200), limit=1).records()[0]
        assert record["value_string"] == str(2**200)
        assert record["value_binary"] == "0x" + (2**200).to_bytes(32, "big").hex()
        assert record["to_address"] is None


def test_time_filter_through_the_blocks_dataset(archive: Path, transactions: Path) -> None:
    """Logs have no time column: the archived blocks turn a time range into a block range."""
    del archive
    columns = (Column("block_number", "u32"), Column("log_index", "u32"))
    root = transactions
    logs = [{"block_number": n, "log_index": i} for n in (5, 6, 7) for i in range(2)]
    path = root / ChunkName("devnet", "logs", BlockRange(5, 8)).filename
    write_parquet(table(columns, logs), path)
    try:
        with ArchiveQuery.under(root) as query:
            page = query.page("logs", Filters(from_time=1_010, to_time=2_000), limit=10)
            assert [(r["block_number"], r["log_index"]) for r in page.records()] == [
                (6, 0), (6, 1), (7, 0), (7, 1),
            ]  # fmt: skip
            assert query.page("logs", Filters(from_time=5_000), limit=10).rows == []
    finally:
        path.unlink()


def test_bad_requests_are_one_line_errors(archive: Path) -> None:
    with ArchiveQuery.under(archive) as query:
        with pytest.raises(NotFoundError, match=r"no archived dataset 'traces' \(archived: logs\)"):
            query.page("traces", Filters())
        with pytest.raises(InvalidInputError, match="has no column to filter by selector"):
            query.page("logs", Filters(selector=b"\x01\x02\x03\x04"))
        with pytest.raises(InvalidInputError, match="has no time column; archive `blocks`"):
            query.page("logs", Filters(from_time=1.0))
        with pytest.raises(InvalidInputError, match="cursor 'x' is not one this API returned"):
            query.page("logs", Filters(), cursor="x")
        with pytest.raises(InvalidInputError, match="query failed: Catalog Error") as error:
            query.sql("SELECT * FROM nope")
        assert str(error.value).endswith("; archived datasets: logs")
        assert "\n" not in str(error.value)


@pytest.fixture
def corrupt(tmp_path: Path) -> Path:
    cryo_logs(tmp_path, BlockRange(0, 20), logs_per_block=2, chunk_size=10)
    bad = tmp_path / "ethereum__logs__00000020_to_00000029.parquet"
    good = tmp_path / "ethereum__logs__00000010_to_00000019.parquet"
    bad.write_bytes(good.read_bytes()[:-100])  # truncated: the footer is gone
    return bad


def test_a_corrupt_file_fails_the_query_naming_it(corrupt: Path) -> None:
    with pytest.raises(StorageError) as error:
        ArchiveQuery.under(corrupt.parent).sql("SELECT count(*) FROM logs")
    message = str(error.value)
    assert message.startswith(f"archive file {corrupt} is not readable Parquet (")
    assert "\n" not in message


def _cli() -> typer.Typer:
    app = typer.Typer()
    archive_app = typer.Typer()
    register(archive_app)
    app.add_typer(archive_app, name="archive")
    return app


def test_cli_query_json_and_table(archive: Path) -> None:
    runner = CliRunner()
    sql = "SELECT block_number, address FROM logs WHERE block_number = 2 ORDER BY log_index"
    answer = runner.invoke(
        _cli(), ["archive", "query", sql, "--output-dir", str(archive), "--json"]
    )
    assert answer.exit_code == 0, answer.output
    expected = [
        {"block_number": 2, "address": "0x" + r["address"].hex()}
        for r in all_logs(archive)
        if r["block_number"] == 2
    ]
    assert json.loads(answer.output) == expected
    files = [str(f.path) for f in chunk_files(archive)][:1]
    table_answer = runner.invoke(
        _cli(), ["archive", "query", "SELECT count(*) AS n FROM logs", "--file", files[0]]
    )
    assert table_answer.exit_code == 0, table_answer.output
    assert "40" in table_answer.output
    assert table_answer.output.rstrip().endswith("1 rows")


def test_cli_errors_are_one_line(corrupt: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    answer = runner.invoke(
        _cli(), ["archive", "query", "SELECT * FROM logs", "-o", str(corrupt.parent)]
    )
    assert answer.exit_code == StorageError.exit_code
    assert answer.output.count("\n") == 1
    assert answer.output.startswith(f"error: archive file {corrupt} is not readable Parquet")
    empty = tmp_path / "empty"
    bad_sql = runner.invoke(_cli(), ["archive", "query", "SELEC 1", "-o", str(empty)])
    assert bad_sql.exit_code == 2
    assert bad_sql.output.startswith("error: query failed: Parser Error")
    not_a_chunk = runner.invoke(
        _cli(), ["archive", "query", "SELECT 1", "--file", str(tmp_path / "notes.txt")]
    )
    assert not_a_chunk.exit_code == 2
    assert "is not a Parquet archive chunk file" in not_a_chunk.output
    jsonl = tmp_path / "devnet__logs__00000000_to_00000009.jsonl"
    jsonl.write_text("{}\n")
    as_jsonl = runner.invoke(_cli(), ["archive", "query", "SELECT 1", "--file", str(jsonl)])
    assert as_jsonl.exit_code == 2
    assert "is not a Parquet archive chunk file" in as_jsonl.output
    assert query_command.__doc__
