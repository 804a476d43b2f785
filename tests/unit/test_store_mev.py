"""MEV results in the store (SQLite here; tests/integration/test_store_mev_postgres.py runs the
same checks on PostgreSQL): exact uint256 amounts, filters, cursor pages, idempotent replace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_mev_inspectors import (
    PAIR,
    SEARCHER,
    TOKEN,
    WETH,
    arbitrage_traces,
    inspect,
    sandwich_block,
)
from timemachine.errors import InvalidInputError
from timemachine.mev.models import BlockInspection
from timemachine.store import Database, MevResults, open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


def _at(result: BlockInspection, number: int) -> BlockInspection:
    return BlockInspection.model_validate({**result.model_dump(), "block_number": number})


def _all_ids(store: MevResults) -> list[int]:
    """Every finding's id, page by page (4 per page) through the cursors."""
    seen: list[int] = []
    cursor: int | None = None
    while True:
        page = store.query(1, limit=4, cursor=cursor)
        seen.extend(item.id for item in page.items)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def check_mev_store(db: Database) -> None:
    sandwich = _at(sandwich_block(100, 13), 100)  # 3 swaps + 1 sandwich (2 swaps by the searcher)
    arbitrage = _at(inspect(arbitrage_traces()), 101)  # 2 swaps + 1 arbitrage
    huge = arbitrage.model_copy(deep=True)
    huge.arbitrages[0].profit_amount = 2**200 + 1
    huge = _at(huge, 102)
    with db.session() as s:
        assert MevResults(s).replace_blocks(1, [sandwich, arbitrage, huge]) == 10
    with db.session() as s:
        store = MevResults(s)
        assert store.inspected_blocks(1, 100, 103) == [100, 101, 102]
        assert [r.type for r in store.query(1, type="sandwich").items] == ["sandwich"]
        (sw,) = store.query(1, type="sandwich").items
        assert (sw.searcher, sw.pool, sw.profit_token, sw.profit_amount) == (
            SEARCHER,
            PAIR,
            WETH,
            3,
        )
        assert sw.payload["frontrun_swap"]["token_in_amount"] == 10
        assert len(store.query(1, searcher=SEARCHER.upper().replace("0X", "0x")).items) == 7
        assert len(store.query(1, token=TOKEN, type="swap").items) == 7
        assert [r.block_number for r in store.query(1, type="arbitrage").items] == [101, 102]
        assert [r.block_number for r in store.query(1, from_block=101, to_block=102).items] == [
            101,
            101,
            101,
        ]
        (big,) = store.query(1, min_profit=2**200).items
        assert big.profit_amount == 2**200 + 1  # exact, not a float
        assert big.payload["profit_amount"] == 2**200 + 1
        assert store.query(1, min_profit=2**200 + 2).items == []
        assert store.query(2).items == []  # another chain
        seen = _all_ids(store)
        assert len(seen) == len(set(seen)) == 10
        assert seen == sorted(seen)
    # re-inspecting replaces: same rows again, not doubled; changed results replace old ones
    with db.session() as s:
        MevResults(s).replace_blocks(1, [sandwich])
        MevResults(s).replace_blocks(1, [_at(inspect([]), 101)])
    with db.session() as s:
        store = MevResults(s)
        assert len(store.query(1, type="sandwich").items) == 1
        assert [r.block_number for r in store.query(1, type="arbitrage").items] == [102]
        assert store.inspected_blocks(1, 100, 103) == [100, 101, 102]

    # a failed transaction stores nothing: the old results stay whole
    def crash_before_commit() -> None:
        with db.session() as s:
            MevResults(s).replace_blocks(1, [_at(inspect([]), 100)])
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash_before_commit()
    with db.session() as s:
        assert len(MevResults(s).query(1, type="sandwich").items) == 1
        with pytest.raises(InvalidInputError, match="same block twice"):
            MevResults(s).replace_blocks(1, [sandwich, sandwich])
        with pytest.raises(InvalidInputError, match="limit"):
            MevResults(s).query(1, limit=0)


def test_mev_store_on_sqlite(db: Database) -> None:
    check_mev_store(db)
