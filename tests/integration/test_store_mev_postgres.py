"""MEV results on a real PostgreSQL: the same checks as on SQLite (tests/unit/test_store_mev.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.test_store_mev import check_mev_store
from timemachine.store import Database, open_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def db(postgres_url: str) -> Iterator[Database]:
    database = open_database(postgres_url)
    yield database
    database.dispose()


def test_mev_store_on_postgres(db: Database) -> None:
    assert db.dialect == "postgresql"
    check_mev_store(db)
