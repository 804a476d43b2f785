"""Monitored transactions in the store (SQLite): one row per transaction, lifecycle updates in
place, filters, cursor pages, exact values, retention."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.monitor_records import SENDER, TARGET, record
from timemachine.errors import InvalidInputError
from timemachine.monitor.service import row_of
from timemachine.store import Database, MonitoredTxs, open_database

BIG = 2**255 + 1


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


def test_one_row_per_transaction_updated_in_place(db: Database) -> None:
    tx = record(1, seen=10.0)
    with db.session() as session:
        MonitoredTxs(session).upsert([row_of(tx)])
    tx.status, tx.block_number, tx.updated_at = "included", 12, 20.0
    with db.session() as session:
        MonitoredTxs(session).upsert([row_of(tx)])
    with db.session() as session:
        store = MonitoredTxs(session)
        assert store.counts() == {"included": 1}
        stored = store.get("test", tx.tx.hash)
        assert stored is not None
        assert (stored["status"], stored["block_number"]) == ("included", 12)
        assert stored["first_seen"] == {"p": 10.0}


def test_filters_and_cursor_pages(db: Database) -> None:
    records = [record(n, value=hex(n)) for n in range(1, 6)]
    records[4] = record(5, value=hex(BIG), to=None)
    with db.session() as session:
        MonitoredTxs(session).upsert([row_of(r) for r in records])
    with db.session() as session:
        store = MonitoredTxs(session)
        seen: list[str] = []
        cursor = None
        while True:
            page = store.query(chain="test", cursor=cursor, limit=2)
            seen += [item["tx"]["hash"] for item in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [r.tx.hash for r in records]
        assert [i["tx"]["nonce"] for i in store.query(min_value=3).items] == [3, 4, 5]
        assert [i["tx"]["nonce"] for i in store.query(min_value=BIG).items] == [5]
        assert [i["tx"]["nonce"] for i in store.query(kind="contract_creation").items] == [5]
        assert len(store.query(address=TARGET).items) == 4
        assert len(store.query(address=SENDER.upper().replace("0X", "0x")).items) == 5
        assert store.query(simulated_only=True).items == []
        assert store.query(chain="other").items == []
        with pytest.raises(InvalidInputError):
            store.query(limit=0)


def test_retention_purges_settled_transactions_only(db: Database) -> None:
    old_pending, old_included, fresh = record(1), record(2), record(3)
    old_pending.updated_at = old_included.updated_at = 100.0
    old_included.status = "included"
    fresh.status, fresh.updated_at = "dropped", 500.0
    with db.session() as session:
        MonitoredTxs(session).upsert([row_of(r) for r in (old_pending, old_included, fresh)])
    with db.session() as session:
        assert MonitoredTxs(session).purge(before=200.0) == 1
    with db.session() as session:
        assert MonitoredTxs(session).counts() == {"pending": 1, "dropped": 1}
