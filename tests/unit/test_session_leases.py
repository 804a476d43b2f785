"""Session leases on SQLite: claim, renewal, expiry, re-queue, attempts, progress reset."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from timemachine.bus import LocalBus
from timemachine.errors import SessionStopped
from timemachine.models.sessions import ReplaySessionRecord, SessionStatus
from timemachine.orchestration.leases import Lease, new_holder
from timemachine.orchestration.progress import Reporter, session_event
from timemachine.orchestration.sessions import requeue_lost
from timemachine.store import Database, ReplaySessions, open_database
from timemachine.store.sessions import restarted_stage

T0 = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


def _new(db: Database) -> str:
    with db.session() as s:
        return ReplaySessions(s).create(owner="alice", kind="exploit", request={}).id


def test_claim_takes_a_pending_session_and_refuses_a_live_lease(db: Database) -> None:
    sid = _new(db)
    clock = Clock()
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        first = repo.claim(sid, holder="w1", lease_seconds=30, task_id="t1")
        assert first is not None
        assert (first.status, first.attempts, first.progress, first.stage, first.task_id) == (
            SessionStatus.RUNNING, 1, 0.0, "started", "t1"
        )  # fmt: skip
        clock.now = T0 + dt.timedelta(seconds=29)
        assert repo.claim(sid, holder="w2", lease_seconds=30) is None  # a duplicate delivery
        assert repo.renew_lease(sid, holder="w1", lease_seconds=30)  # until T0 + 59 s
        assert not repo.renew_lease(sid, holder="w2", lease_seconds=30)
        clock.now = T0 + dt.timedelta(seconds=58)
        assert repo.expired_leases() == []
        assert repo.claim(sid, holder="w2", lease_seconds=30) is None


def test_an_expired_lease_is_taken_over_with_progress_reset(db: Database) -> None:
    sid = _new(db)
    clock = Clock()
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        repo.claim(sid, holder="w1", lease_seconds=30)
        repo.update_progress(sid, 93, stage="replaying tx 93/100")
        clock.now = T0 + dt.timedelta(seconds=31)
        assert repo.expired_leases() == [sid]
        second = repo.claim(sid, holder="w2", lease_seconds=30)
        assert second is not None
        assert (second.attempts, second.progress, second.stage) == (2, 0.0, restarted_stage(2))
        assert "progress starts over" in (second.stage or "")
        assert not repo.renew_lease(sid, holder="w1", lease_seconds=30)  # w1 lost it
        assert repo.renew_lease(sid, holder="w2", lease_seconds=30)
        assert session_event(second)["attempt"] == 2


def test_requeue_puts_a_lost_session_back_to_pending_then_fails_it_after_max_attempts(
    db: Database,
) -> None:
    sid = _new(db)
    clock = Clock()
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        repo.claim(sid, holder="w1", lease_seconds=10)
        repo.update_progress(sid, 50)
        assert repo.requeue(sid, max_attempts=2) is None  # the lease is live
        clock.now += dt.timedelta(seconds=11)
        again = repo.requeue(sid, max_attempts=2)
        assert again is not None
        assert (again.status, again.progress, again.attempts) == (SessionStatus.PENDING, 0.0, 1)
        assert again.stage == "re-queued: the worker of attempt 1 was lost"
        assert repo.requeue(sid, max_attempts=2) is None  # not running: nothing to do
        assert repo.claim(sid, holder="w2", lease_seconds=10) is not None
        # Attempt 2 lost too (`force`: the caller knows its worker is gone): attempts used up.
        assert repo.requeue(sid, max_attempts=2, force=True) is not None
        assert repo.claim(sid, holder="w3", lease_seconds=10) is None
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        record = repo.require(sid)
        assert record.status is SessionStatus.FAILED
        assert record.attempts == 2
        assert record.error is not None
        assert "lost 2 times" in record.error


def test_the_sweeper_requeues_expired_sessions_and_enqueues_them(db: Database) -> None:
    lost, alive, done = _new(db), _new(db), _new(db)
    with db.session() as s:
        repo = ReplaySessions(s)
        repo.claim(lost, holder="dead", lease_seconds=0.001)
        repo.claim(alive, holder="live", lease_seconds=300)
        repo.claim(done, holder="w", lease_seconds=0.001)
        repo.complete(done)
    queued: list[ReplaySessionRecord] = []
    assert requeue_lost(db, 3, queued.append) == [lost]
    assert [(r.id, r.status) for r in queued] == [(lost, SessionStatus.PENDING)]
    assert requeue_lost(db, 3, queued.append) == []


def test_a_lost_lease_stops_the_run_at_its_next_report(db: Database) -> None:
    sid = _new(db)
    holder = new_holder()
    with db.session() as s:
        ReplaySessions(s).claim(sid, holder=holder, lease_seconds=30)
    lease = Lease(db, sid, holder, 30)
    reporter = Reporter(db, LocalBus(), sid, lease=lease)
    assert lease.renew()
    reporter.progress(10, "replaying tx 1/10")
    with db.session() as s:  # the sweeper of another worker re-queued it (a long stall)
        ReplaySessions(s).requeue(sid, max_attempts=3, force=True)
    assert not lease.renew()
    assert lease.lost.is_set()
    with pytest.raises(SessionStopped):
        reporter.progress(20, "replaying tx 2/10")


def test_the_heartbeat_thread_renews_the_lease(db: Database) -> None:
    sid = _new(db)
    with db.session() as s:
        ReplaySessions(s).claim(sid, holder="me", lease_seconds=0.6)
    with Lease(db, sid, "me", 0.6) as lease:
        time.sleep(1.5)  # more than two lease lengths: only renewals keep it
        with db.session() as s:
            assert ReplaySessions(s).expired_leases() == []
        assert not lease.lost.is_set()


def test_the_light_state_query_gives_the_same_event_as_the_full_record(db: Database) -> None:
    ids = [_new(db) for _ in range(3)]
    with db.session() as s:
        repo = ReplaySessions(s)
        repo.claim(ids[0], holder="w", lease_seconds=30)
        repo.update_progress(ids[0], 40, stage="replaying tx 2/5")
        states = repo.states([*ids, "no-such-session"])
        records = [repo.require(session_id) for session_id in ids]
    assert sorted(states) == sorted(ids)
    for record in records:
        assert session_event(states[record.id]) == session_event(record)
    assert session_event(states[ids[0]])["progress"] == 40.0
