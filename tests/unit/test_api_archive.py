"""`/api/v1/archive`: a viewer reads archived logs with filters and cursor pages as JSON, CSV and
Parquet (the same rows in each); bad filters are 4xx with a message, a corrupt chunk a 503."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import client, headers_for, isolated_env, settings_of
from tests.unit.archive_support import TRANSFER, cryo_logs
from timemachine.archive.chunkfile import chunk_files, write_parquet
from timemachine.archive.layout import BlockRange
from timemachine.archive.own.columns import Column, table
from timemachine.models.auth import Role

__all__ = ["client", "isolated_env"]  # fixtures

ARCHIVE = "/api/v1/archive"


@pytest.fixture
def viewer(client: TestClient) -> dict[str, str]:
    root = settings_of(client).archive_dir
    assert root is not None
    cryo_logs(root, BlockRange(0, 20), logs_per_block=3, chunk_size=10)
    return headers_for(client, "vera", Role.VIEWER)


def oracle(root: Path, keep: Any) -> list[tuple[int, int]]:
    rows = [r for f in chunk_files(root) for r in pq.read_table(f.path).to_pylist()]
    return sorted((r["block_number"], r["log_index"]) for r in rows if keep(r))


def test_viewer_lists_and_pages_through_a_filtered_dataset(
    client: TestClient, viewer: dict[str, str]
) -> None:
    listed = client.get(ARCHIVE, headers=viewer)
    assert listed.status_code == 200
    assert listed.json() == [{"dataset": "logs", "networks": ["ethereum"], "chunks": 2}]
    root = settings_of(client).archive_dir
    assert root is not None
    transfer = bytes.fromhex(TRANSFER)
    expected = oracle(root, lambda r: r["topic0"] == transfer and 4 <= r["block_number"] < 17)
    seen: list[tuple[int, int]] = []
    params: dict[str, Any] = {"topic0": "0x" + TRANSFER, "from_block": 4, "to_block": 17}
    params["limit"] = 4
    while True:
        answer = client.get(f"{ARCHIVE}/logs", params=params, headers=viewer)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["columns"][0] == "block_number"
        seen.extend((item["block_number"], item["log_index"]) for item in body["items"])
        assert all(item["topic0"] == "0x" + TRANSFER for item in body["items"])
        if body["next_cursor"] is None:
            break
        assert answer.headers["x-next-cursor"] == body["next_cursor"]
        params["cursor"] = body["next_cursor"]
    assert seen == expected


def test_csv_and_parquet_carry_the_same_rows_as_json(
    client: TestClient, viewer: dict[str, str]
) -> None:
    params = {"from_block": 2, "to_block": 5, "columns": "log_index,address,topic0"}
    as_json = client.get(f"{ARCHIVE}/logs", params=params, headers=viewer).json()
    assert as_json["columns"] == ["block_number", "log_index", "address", "topic0"]
    assert len(as_json["items"]) == 9
    as_csv = client.get(f"{ARCHIVE}/logs", params={**params, "format": "csv"}, headers=viewer)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows == [{k: str(v) for k, v in item.items()} for item in as_json["items"]]
    as_parquet = client.get(
        f"{ARCHIVE}/logs", params={**params, "format": "parquet"}, headers=viewer
    )
    assert as_parquet.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(as_parquet.content)).to_pylist()
    assert [
        {k: ("0x" + v.hex()) if isinstance(v, bytes) else v for k, v in row.items()}
        for row in table
    ] == as_json["items"]


BAD_FILTERS: list[tuple[dict[str, str], int, str | None]] = [
    ({"address": "0x12"}, 422, None),
    ({"selector": "0xa9059cbb"}, 400, "dataset 'logs' has no column to filter by selector"),
    ({"min_value": "1"}, 400, "dataset 'logs' has no column to filter by value"),
    ({"from_time": "2024-01-01T00:00:00Z"}, 400, "has no time column"),
    ({"cursor": "nope"}, 400, "cursor 'nope' is not one this API returned"),
    ({"columns": "log_index,nope"}, 400, "dataset 'logs' has no column 'nope'"),
]


def test_bad_filters_are_4xx_with_a_message(client: TestClient, viewer: dict[str, str]) -> None:
    for params, status, detail in BAD_FILTERS:
        answer = client.get(f"{ARCHIVE}/logs", params=params, headers=viewer)
        assert answer.status_code == status, (params, answer.text)
        if detail is not None:
            assert detail in answer.json()["detail"]


def test_unknown_dataset_is_404_and_corrupt_chunk_503(
    client: TestClient, viewer: dict[str, str]
) -> None:
    past = client.get(f"{ARCHIVE}/logs", params={"cursor": f"{2**70}:0"}, headers=viewer)
    assert (past.status_code, past.json()["items"], past.json()["next_cursor"]) == (200, [], None)
    missing = client.get(f"{ARCHIVE}/traces", headers=viewer)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no archived dataset 'traces' (archived: logs)"
    root = settings_of(client).archive_dir
    assert root is not None
    (root / "ethereum__logs__00000020_to_00000029.parquet").write_bytes(b"not parquet")
    broken = client.get(f"{ARCHIVE}/logs", headers=viewer)
    assert broken.status_code == 503
    assert broken.json()["error"] == "StorageError"


def test_csv_cells_of_lists_are_json(client: TestClient, viewer: dict[str, str]) -> None:
    root = settings_of(client).archive_dir
    assert root is not None
    columns = (Column("block_number", "u32"), Column("findings", "strings"),
               Column("transaction_hash", "binary"))  # fmt: skip
    rows = [{"block_number": 3, "findings": ["reentrancy", "flash_loan"],
             "transaction_hash": "0x" + "ab" * 32}]  # fmt: skip
    write_parquet(table(columns, rows), root / "devnet__replays__00000000_to_00000009.parquet")
    answer = client.get(f"{ARCHIVE}/replays", params={"format": "csv"}, headers=viewer)
    assert answer.text.splitlines() == [
        "block_number,findings,transaction_hash",
        f'3,"[""reentrancy"", ""flash_loan""]",0x{"ab" * 32}',
    ]
