"""MEV results and range jobs on a real PostgreSQL: the same checks as on SQLite
(tests/unit/test_store_mev.py, tests/unit/test_store_mev_jobs.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.test_store_mev import check_mev_store
from tests.unit.test_store_mev_jobs import check_mev_jobs
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


def test_mev_jobs_on_postgres(db: Database) -> None:
    check_mev_jobs(db)
