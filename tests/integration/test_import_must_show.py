"""Must show: a 10,000-row CSV with 1% malformed rows — every good row stored once, every bad row
reported with its line, and importing it again adds nothing. On SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from timemachine.orchestration.tx_imports import import_file
from timemachine.store import Database, TxImports, open_database

pytestmark = pytest.mark.integration

ROWS = 10_000
MALFORMED = [
    ("0x12345,ethereum,{block},bad,x", "not a transaction hash (0x + 64 hex digits): '0x12345'"),
    ("{hash},atlantis,{block},bad,x", "unknown chain 'atlantis'"),
    ("{hash},ethereum,-{block},bad,x", "block must be a non-negative integer, found '-{block}'"),
    ("{hash},ethereum,{block},bad", "expected 5 cells (as in the header), found 4"),
    (",ethereum,{block},bad,x", "no transaction hash (the 'hash' cell is empty or missing)"),
]


def write_csv(path: Path) -> dict[int, str]:
    """10,000 data rows; row i is malformed when i % 100 == 37 (1%). Returns line -> reason."""
    lines = ["hash,chain,block,label,source"]
    expected: dict[int, str] = {}
    for i in range(ROWS):
        tx_hash = f"0x{i + 1:064x}"
        block = 1_000 + i // 4
        if i % 100 == 37:
            template, reason = MALFORMED[(i // 100) % len(MALFORMED)]
            lines.append(template.format(hash=f"0x{i + 1:064x}", block=block))
            expected[i + 2] = reason.format(block=block)  # line 1 is the header
        else:
            lines.append(f"{tx_hash},{'ethereum' if i % 2 else '1'},{block},tx{i},gen")
    path.write_text("\n".join(lines) + "\n")
    return expected


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'imports.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db = open_database(url)
    try:
        yield db
    finally:
        db.dispose()


def stored(db: Database, owner: str) -> tuple[int, list[str]]:
    with db.session() as s:
        repo = TxImports(s)
        hashes: list[str] = []
        while True:
            page = repo.list_transactions(owner, limit=500, offset=len(hashes))
            hashes += [tx.hash for tx in page.items]
            if len(hashes) >= page.total:
                return page.total, hashes


def test_ten_thousand_rows_one_percent_malformed(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "txs.csv"
    expected_errors = write_csv(path)
    good = ROWS - len(expected_errors)
    assert len(expected_errors) == 100
    calls: list[tuple[int, int]] = []

    started = time.perf_counter()
    first = import_file(
        database, path, owner="alice", progress=lambda done, total: calls.append((done, total))
    )
    first_seconds = time.perf_counter() - started
    assert (first.accepted, first.rejected, first.duplicates) == (good, 100, 0)
    assert {e.line: e.reason for e in first.errors} == expected_errors
    assert calls[0] == (500, good)
    assert calls[-1] == (good, good)
    assert len(calls) == 20  # stored in batches of 500

    total, hashes = stored(database, "alice")
    assert total == good
    assert len(set(hashes)) == good  # every good row stored once
    assert f"0x{38:064x}" not in hashes  # row 37 (line 39) was malformed
    with database.session() as s:
        imports = TxImports(s).list_imports("alice")
        rows_of_first = TxImports(s).list_transactions("alice", import_id=first.import_id)
    assert imports.total == 1  # the 20 batches are one import
    assert (imports.items[0].accepted, imports.items[0].duplicates) == (good, 0)
    assert rows_of_first.total == good

    started = time.perf_counter()
    again = import_file(database, path, owner="alice")
    again_seconds = time.perf_counter() - started
    assert (again.accepted, again.rejected, again.duplicates) == (0, 100, good)
    assert {e.line: e.reason for e in again.errors} == expected_errors
    assert stored(database, "alice")[0] == good  # re-import adds nothing
    other_total, _ = stored(database, "bob")
    assert other_total == 0
    assert first_seconds + again_seconds < 30, (first_seconds, again_seconds)
