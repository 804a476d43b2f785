"""`POST /api/v1/archive/query`: an analyst runs one SELECT over the archived datasets (JSON, CSV,
Parquet; rows bounded); anything but a single SELECT, a read of another file, or a viewer is
refused with a one-line 4xx."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import client, headers_for, isolated_env, settings_of
from tests.unit.archive_support import TRANSFER, cryo_logs
from timemachine.archive.chunkfile import chunk_files
from timemachine.archive.layout import BlockRange
from timemachine.archive.readonly import ReadOnlyArchive
from timemachine.errors import InvalidInputError
from timemachine.models.auth import Role

__all__ = ["client", "isolated_env"]  # fixtures

QUERY = "/api/v1/archive/query"
TRANSFERS = (
    f"SELECT block_number, count(*) AS n FROM logs WHERE topic0 = from_hex('{TRANSFER}') "
    "GROUP BY block_number ORDER BY block_number"
)
ONLY = "only a SELECT (or WITH … SELECT) statement is allowed, got "


@pytest.fixture
def archived(client: TestClient) -> TestClient:
    root = settings_of(client).archive_dir
    assert root is not None
    cryo_logs(root, BlockRange(0, 20), logs_per_block=3, chunk_size=10)
    return client


def test_analyst_runs_a_select_as_json_csv_and_parquet(archived: TestClient) -> None:
    answer = archived.post(QUERY, json={"sql": "SELECT count(*) AS n FROM logs"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"columns": ["n"], "items": [{"n": 60}], "truncated": False}
    grouped = archived.post(QUERY, json={"sql": TRANSFERS}).json()
    assert grouped["columns"] == ["block_number", "n"]
    as_csv = archived.post(QUERY, json={"sql": TRANSFERS, "format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert rows == [{k: str(v) for k, v in item.items()} for item in grouped["items"]]
    as_parquet = archived.post(QUERY, json={"sql": TRANSFERS, "format": "parquet"})
    assert as_parquet.headers["content-disposition"] == 'attachment; filename="query.parquet"'
    assert pq.read_table(io.BytesIO(as_parquet.content)).to_pylist() == grouped["items"]


def test_rows_are_bounded(archived: TestClient) -> None:
    answer = archived.post(
        QUERY, json={"sql": "WITH l AS (SELECT * FROM logs) SELECT log_index FROM l", "max_rows": 7}
    )
    assert answer.status_code == 200, answer.text
    assert (len(answer.json()["items"]), answer.json()["truncated"]) == (7, True)
    as_csv = archived.post(QUERY, json={"sql": "FROM logs", "max_rows": 5, "format": "csv"})
    assert (len(as_csv.text.splitlines()), as_csv.headers["x-truncated"]) == (6, "true")
    too_many = archived.post(QUERY, json={"sql": "FROM logs", "max_rows": 10_001})
    assert too_many.status_code == 422


@pytest.mark.parametrize(
    ("sql", "detail"),
    [
        ("DELETE FROM logs", ONLY + "DELETE"),
        ("CREATE TABLE t AS SELECT 1", ONLY + "CREATE"),
        ("COPY logs TO '/tmp/out.csv'", ONLY + "COPY"),
        ("ATTACH '/tmp/x.db'", ONLY + "ATTACH"),
        ("SET enable_external_access = true", ONLY + "SET"),
        ("SELECT 1; DROP VIEW logs", "send exactly one statement, got 2"),
        ("SELEC 1", 'query failed: Parser Error: syntax error at or near "SELEC"'),
    ],
)
def test_anything_but_one_select_is_refused(archived: TestClient, sql: str, detail: str) -> None:
    answer = archived.post(QUERY, json={"sql": sql})
    assert answer.status_code == 400
    assert answer.json()["detail"] == detail


def test_a_select_reads_no_other_file(archived: TestClient) -> None:
    for sql in ("SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM read_csv('/etc/hosts')"):
        answer = archived.post(QUERY, json={"sql": sql})
        assert answer.status_code == 400
        assert answer.json()["detail"].startswith("query failed: Permission Error: Cannot access")


def test_a_viewer_may_not_query(archived: TestClient) -> None:
    viewer = headers_for(archived, "vera", Role.VIEWER)
    answer = archived.post(QUERY, json={"sql": "SELECT 1"}, headers=viewer)
    assert answer.status_code == 403
    assert answer.json()["detail"] == "this needs the analyst role; you are viewer"


def test_a_long_query_is_stopped(archived: TestClient) -> None:
    root = settings_of(archived).archive_dir
    assert root is not None
    endless = "SELECT sum(a.i * b.j) FROM range(100000) a(i), range(100000) b(j)"
    with ReadOnlyArchive(chunk_files(root)) as archive, pytest.raises(InvalidInputError) as error:
        archive.select(endless, max_rows=1, timeout=0.2)
    assert error.value.message == "query ran longer than 0.2 s: stopped"
