"""The store on a real PostgreSQL: same migrations, and no lost update between connections."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect

from timemachine.errors import ConflictError, InvalidInputError
from timemachine.models.sessions import SessionStatus
from timemachine.store import (
    Database,
    ReplaySessions,
    TxImports,
    list_exploits,
    migrate,
    open_database,
    upsert_catalog,
)
from timemachine.store.tables import Base

pytestmark = pytest.mark.integration
HASH = "0x" + "cd" * 32


@pytest.fixture(scope="module")
def db(postgres_url: str) -> Iterator[Database]:
    database = open_database(postgres_url)
    yield database
    database.dispose()


def new_session(db: Database, owner: str = "alice") -> str:
    with db.session() as s:
        return ReplaySessions(s).create(owner=owner, kind="exploit", request={"id": "x"}).id


def test_migrations_match_the_orm_on_postgres(db: Database, postgres_url: str) -> None:
    assert db.dialect == "postgresql"
    migrate(postgres_url)  # a second run is a no-op
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    inspector = inspect(db.engine)
    for table in Base.metadata.sorted_tables:
        expected = {str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)}
        assert {c["name"] for c in inspector.get_check_constraints(table.name)} == expected


def test_racing_starts_let_exactly_one_worker_win(db: Database) -> None:
    sid = new_session(db)
    barrier = threading.Barrier(6)

    def start(worker: int) -> str:
        barrier.wait()
        try:
            with db.session() as s:
                ReplaySessions(s).start(sid, task_id=f"task-{worker}")
        except ConflictError:
            return "conflict"
        return f"task-{worker}"

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(start, range(6)))
    winners = [o for o in outcomes if o != "conflict"]
    assert len(winners) == 1
    with db.session() as s:
        record = ReplaySessions(s).require(sid)
    assert record.task_id == winners[0]


def test_progress_and_cancel_from_two_connections_lose_nothing(db: Database) -> None:
    sid = new_session(db)
    with db.session() as s:
        ReplaySessions(s).start(sid)
    progress_locked = threading.Event()
    cancelled_at: list[float] = []

    def cancel() -> None:
        progress_locked.wait()
        with db.session() as s:
            ReplaySessions(s).cancel(sid)
        cancelled_at.append(time.monotonic())

    canceller = threading.Thread(target=cancel)
    canceller.start()
    with db.session() as s:  # connection A holds the row lock while B tries to cancel
        ReplaySessions(s).update_progress(sid, 70, stage="tracing")
        progress_locked.set()
        time.sleep(0.5)
        committed_at = time.monotonic()
    canceller.join(10)
    assert cancelled_at
    assert cancelled_at[0] >= committed_at  # B waited for A's lock
    with db.session() as s:
        record = ReplaySessions(s).require(sid)
    assert record.status is SessionStatus.CANCELLED  # B's write kept
    assert (record.progress, record.stage) == (70, "tracing")  # A's write kept


def test_concurrent_progress_reports_keep_the_highest(db: Database) -> None:
    sid = new_session(db)
    with db.session() as s:
        ReplaySessions(s).start(sid)

    def report(value: int) -> None:
        with db.session() as s:
            ReplaySessions(s).update_progress(sid, value)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(report, [10, 90, 30, 60, 20, 80, 40, 50]))
    with db.session() as s:
        assert ReplaySessions(s).require(sid).progress == 90


def test_concurrent_imports_of_one_transaction_store_it_once(db: Database) -> None:
    barrier = threading.Barrier(4)

    def run(worker: int) -> tuple[int, int]:
        barrier.wait()
        with db.session() as s:
            done = TxImports(s).import_transactions(
                "carol", f"w{worker}", [{"chain_id": 1, "hash": HASH, "label": f"w{worker}"}]
            )
        return done.accepted, done.duplicates

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(run, range(4)))
    assert sorted(outcomes) == [(0, 1), (0, 1), (0, 1), (1, 0)]
    with db.session() as s:
        assert TxImports(s).list_transactions("carol").total == 1


def test_repositories_behave_as_on_sqlite(db: Database) -> None:
    sid = new_session(db, owner="dave")
    with db.session() as s:
        repo = ReplaySessions(s)
        assert repo.get(sid, owner="erin") is None
        repo.start(sid)
        repo.store_result(sid, 0, tx_hash=HASH, replay={"gas": 21000})
        repo.store_result(sid, 0, analysis={"findings": []})
    with pytest.raises(InvalidInputError), db.session() as s:
        ReplaySessions(s).store_result(sid, 0, replay={"gas": float("nan")})
    with pytest.raises(ConflictError), db.session() as s:
        ReplaySessions(s).transition(sid, SessionStatus.PENDING)
    with db.session() as s:
        repo = ReplaySessions(s)
        [result] = repo.results(sid)
        assert (result.replay, result.analysis) == ({"gas": 21000}, {"findings": []})
        assert repo.require(sid).status is SessionStatus.RUNNING
        repo.cancel(sid)
        assert repo.delete(sid) is True
    with db.session() as s:
        first = upsert_catalog(s)
    with db.session() as s:
        again = upsert_catalog(s)
        page = list_exploits(s, vulnerability_type="reentrancy", limit=5, offset=5)
    assert first.inserted > 0
    assert (again.inserted, again.updated) == (0, first.inserted)
    assert len(page.items) == 5
    assert page.total > 10
