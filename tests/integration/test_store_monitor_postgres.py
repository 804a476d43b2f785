"""Monitored transactions on a real PostgreSQL: the same checks as on SQLite
(tests/unit/test_store_monitor.py), each on an empty table."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import delete

from tests.unit import test_store_monitor as on_sqlite
from timemachine.store import Database, open_database
from timemachine.store.monitor import MonitoredTxRow

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def db(postgres_url: str) -> Iterator[Database]:
    database = open_database(postgres_url)
    yield database
    database.dispose()


@pytest.mark.parametrize(
    "check",
    [
        on_sqlite.test_one_row_per_transaction_updated_in_place,
        on_sqlite.test_filters_and_cursor_pages,
        on_sqlite.test_retention_purges_settled_transactions_only,
    ],
)
def test_monitor_store_on_postgres(db: Database, check: Callable[[Database], None]) -> None:
    assert db.dialect == "postgresql"
    with db.session() as session:
        session.execute(delete(MonitoredTxRow))
    check(db)
