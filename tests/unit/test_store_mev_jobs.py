"""Range inspection jobs in the store: batches wait until the last one is in, which stores the
whole range atomically (replacing earlier results); a redelivered batch counts once; a failed
job stores nothing and leaves earlier results whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_mev_inspectors import arbitrage_traces, inspect, sandwich_block
from tests.unit.test_store_mev import _at
from timemachine.errors import NotFoundError
from timemachine.store import Database, MevJobs, MevResults, open_database
from timemachine.store.mev_jobs import batch_range


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


CHAIN = 7
"""Apart from the chain the MEV store checks use, so both can share one database."""


def check_mev_jobs(db: Database) -> None:
    sandwich = _at(sandwich_block(100, 13), 100)
    arbitrage = _at(inspect(arbitrage_traces()), 101)
    quiet = _at(inspect([]), 102)
    with db.session() as s:
        MevResults(s).replace_blocks(CHAIN, [_at(inspect([]), 100)])  # an earlier inspection
        job = MevJobs(s).create(
            owner="alice",
            chain_id=CHAIN,
            start_block=100,
            end_block=103,
            batch_size=2,
            rpc_url=None,
        )
    assert (job.batches_total, job.status) == (2, "queued")
    assert [list(batch_range(job, i)) for i in range(2)] == [[100, 101], [102]]

    with db.session() as s:
        record, stored = MevJobs(s).store_batch(job.id, 0, [sandwich, arbitrage])
    assert (record.status, record.batches_done, stored) == ("running", 1, [])
    with db.session() as s:  # nothing of the range is visible before the last batch is in
        assert MevResults(s).query(CHAIN, type="sandwich").items == []
        record, stored = MevJobs(s).store_batch(job.id, 0, [sandwich, arbitrage])  # redelivered
    assert record.batches_done == 1
    with db.session() as s:
        record, stored = MevJobs(s).store_batch(job.id, 1, [quiet])
    assert (record.status, record.batches_done, record.mev_count) == ("completed", 2, 2)
    assert [r.block_number for r in stored] == [100, 101, 102]
    with db.session() as s:
        results = MevResults(s)
        assert results.inspected_blocks(CHAIN, 100, 103) == [100, 101, 102]
        assert len(results.query(CHAIN, type="sandwich").items) == 1
        assert len(results.query(CHAIN, type="arbitrage").items) == 1
        # a late redelivery after completion changes nothing
        assert MevJobs(s).store_batch(job.id, 1, [])[0].status == "completed"

    with db.session() as s:
        again = MevJobs(s).create(
            owner="alice", chain_id=CHAIN, start_block=100, end_block=102, batch_size=1, rpc_url="x"
        )
        MevJobs(s).store_batch(again.id, 0, [_at(inspect([]), 100)])
        assert MevJobs(s).rpc_url(again.id) == "x"
        failed = MevJobs(s).fail(again.id, "node went away")
        assert MevJobs(s).rpc_url(again.id) is None  # a provider URL is not kept past the job
        assert MevJobs(s).require(again.id, owner="alice").id == again.id
        with pytest.raises(NotFoundError):
            MevJobs(s).require(again.id, owner="bob")  # another user's job does not exist
    assert (failed.status, failed.error) == ("failed", "node went away")
    with db.session() as s:  # the failed job stored nothing: the earlier results stay whole
        assert len(MevResults(s).query(CHAIN, type="sandwich").items) == 1
        assert MevJobs(s).store_batch(again.id, 1, [quiet])[0].status == "failed"
        with pytest.raises(NotFoundError, match="no MEV inspection job"):
            MevJobs(s).require("0" * 32)


def test_mev_jobs_on_sqlite(db: Database) -> None:
    check_mev_jobs(db)
