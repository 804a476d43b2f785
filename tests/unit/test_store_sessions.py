"""Replay sessions on SQLite: transitions, owner scoping, paging, results, cleanup."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from timemachine.errors import ConflictError, InvalidInputError, NotFoundError
from timemachine.models.sessions import ALLOWED_TRANSITIONS, SessionStatus
from timemachine.store import Database, ReplaySessions, open_database

T0 = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)
HASH = "0x" + "ab" * 32


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def new_session(db: Database, clock: Clock, owner: str = "alice") -> str:
    with db.session() as s:
        return (
            ReplaySessions(s, clock=clock)
            .create(owner=owner, kind="transactions", request={"hashes": [HASH]})
            .id
        )


def test_life_cycle_sets_timestamps_and_progress(db: Database, clock: Clock) -> None:
    sid = new_session(db, clock)
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        clock.advance(seconds=1)
        running = repo.start(sid, task_id="task-1", fork_id="fork-1")
        clock.advance(seconds=1)
        repo.update_progress(sid, 50, stage="replaying tx 1/2")
        clock.advance(seconds=1)
        done = repo.complete(sid)
    assert running.status is SessionStatus.RUNNING
    assert running.started_at == T0 + dt.timedelta(seconds=1)
    assert (running.task_id, running.fork_id) == ("task-1", "fork-1")
    assert done.status is SessionStatus.COMPLETED
    assert done.progress == 100
    assert done.stage == "replaying tx 1/2"
    assert done.finished_at == T0 + dt.timedelta(seconds=3)
    assert done.created_at == T0
    assert done.created_at.tzinfo is not None


@pytest.mark.parametrize("source", list(SessionStatus))
@pytest.mark.parametrize("target", list(SessionStatus))
def test_every_transition_is_allowed_or_conflicts(
    db: Database, clock: Clock, source: SessionStatus, target: SessionStatus
) -> None:
    sid = new_session(db, clock)
    path = {
        SessionStatus.PENDING: [],
        SessionStatus.RUNNING: [SessionStatus.RUNNING],
        SessionStatus.COMPLETED: [SessionStatus.RUNNING, SessionStatus.COMPLETED],
        SessionStatus.FAILED: [SessionStatus.FAILED],
        SessionStatus.CANCELLED: [SessionStatus.CANCELLED],
    }[source]
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        for step in path:
            repo.transition(sid, step)
    if target in ALLOWED_TRANSITIONS[source]:
        with db.session() as s:
            assert ReplaySessions(s, clock=clock).transition(sid, target).status is target
    else:
        with (
            pytest.raises(ConflictError, match=f"is {source.value}; it cannot become"),
            db.session() as s,
        ):
            ReplaySessions(s, clock=clock).transition(sid, target)
        with db.session() as s:
            assert ReplaySessions(s).require(sid).status is source


def test_owner_scoping_hides_other_owners_sessions(db: Database, clock: Clock) -> None:
    sid = new_session(db, clock, owner="alice")
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        assert repo.get(sid, owner="alice") is not None
        assert repo.get(sid, owner="mallory") is None
        assert repo.get("no-such-id") is None
        with pytest.raises(NotFoundError):
            repo.cancel(sid, owner="mallory")
        with pytest.raises(NotFoundError):
            repo.results(sid, owner="mallory")
        assert repo.delete(sid, owner="mallory", force=True) is False
        assert repo.list_by_owner("mallory").total == 0
    with db.session() as s:
        assert ReplaySessions(s).require(sid).status is SessionStatus.PENDING


def test_list_pages_newest_first_and_filters_by_status(db: Database, clock: Clock) -> None:
    ids = []
    for _ in range(7):
        clock.advance(minutes=1)
        ids.append(new_session(db, clock))
    new_session(db, clock, owner="bob")
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        repo.cancel(ids[0])
        repo.cancel(ids[3])
        first = repo.list_by_owner("alice", limit=3)
        second = repo.list_by_owner("alice", limit=3, offset=3)
        last = repo.list_by_owner("alice", limit=3, offset=6)
        cancelled = repo.list_by_owner("alice", status="cancelled")
        pending = repo.list_by_owner("alice", status=SessionStatus.PENDING, kind="transactions")
        with pytest.raises(InvalidInputError, match="unknown session status"):
            repo.list_by_owner("alice", status="done")
        with pytest.raises(InvalidInputError, match="limit"):
            repo.list_by_owner("alice", limit=0)
    newest_first = list(reversed(ids))
    assert [r.id for r in first.items] == newest_first[:3]
    assert [r.id for r in second.items] == newest_first[3:6]
    assert [r.id for r in last.items] == newest_first[6:]
    assert first.total == second.total == 7
    assert {r.id for r in cancelled.items} == {ids[0], ids[3]}
    assert pending.total == 5


def test_progress_only_while_running_and_never_backwards(db: Database, clock: Clock) -> None:
    sid = new_session(db, clock)
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        with pytest.raises(ConflictError, match="is pending, not running"):
            repo.update_progress(sid, 10)
        repo.start(sid)
        repo.update_progress(sid, 60, stage="b")
        late = repo.update_progress(sid, 30)
        with pytest.raises(InvalidInputError, match="percentage"):
            repo.update_progress(sid, 101)
    assert late.progress == 60
    assert late.stage == "b"
    with db.session() as s:
        ReplaySessions(s, clock=clock).cancel(sid)
    with pytest.raises(ConflictError, match="is cancelled"), db.session() as s:
        ReplaySessions(s, clock=clock).update_progress(sid, 90)


def test_results_merge_parts_and_keep_order(db: Database, clock: Clock) -> None:
    sid = new_session(db, clock)
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        with pytest.raises(ConflictError, match="only while it runs"):
            repo.store_result(sid, 0, replay={"x": 1})
        repo.start(sid)
        repo.store_result(sid, 1, tx_hash=HASH.upper().replace("0X", "0x"), replay={"gas": 2})
        repo.store_result(sid, 0, replay={"gas": 1})
        repo.store_result(sid, 1, analysis={"findings": ["reentrancy"]})
        results = repo.results(sid)
    assert [r.tx_index for r in results] == [0, 1]
    assert results[1].tx_hash == HASH
    assert results[1].replay == {"gas": 2}
    assert results[1].analysis == {"findings": ["reentrancy"]}
    assert results[0].analysis is None


def test_bad_requests_never_lose_stored_data(db: Database, clock: Clock) -> None:
    sid = new_session(db, clock)
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        repo.start(sid)
        repo.store_result(sid, 0, replay={"gas": 1}, analysis={"ok": True})
    bad_calls: list[Callable[[ReplaySessions], object]] = [
        lambda r: r.store_result(sid, 0, replay={"gas": float("nan")}),
        lambda r: r.store_result(sid, 0, analysis={"x": object()}),
        lambda r: r.store_result(sid, -1, replay={"gas": 3}),
        lambda r: r.store_result(sid, 0),
        lambda r: r.transition(sid, "paused"),
        lambda r: r.transition(sid, SessionStatus.PENDING),
        lambda r: r.update_progress(sid, -5),
        lambda r: r.create(owner="alice", kind="mining", request={}),
        lambda r: r.create(owner="", kind="exploit", request={}),
        lambda r: r.create(owner="alice", kind="exploit", request={}, session_id=sid),
        lambda r: r.delete(sid),
    ]
    for call in bad_calls:
        with pytest.raises((InvalidInputError, ConflictError)), db.session() as s:
            call(ReplaySessions(s, clock=clock))
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        record = repo.require(sid)
        results = repo.results(sid)
    assert record.status is SessionStatus.RUNNING
    assert record.request == {"hashes": [HASH]}
    assert [(r.replay, r.analysis) for r in results] == [({"gas": 1}, {"ok": True})]


def test_a_failing_transaction_rolls_back_every_write(db: Database, clock: Clock) -> None:
    sid = new_session(db, clock)

    def start_complete_then_cancel() -> None:
        with db.session() as s:
            repo = ReplaySessions(s, clock=clock)
            repo.start(sid)
            repo.complete(sid)
            repo.cancel(sid)  # illegal: the whole transaction is rolled back

    with pytest.raises(ConflictError):
        start_complete_then_cancel()
    with db.session() as s:
        assert ReplaySessions(s).require(sid).status is SessionStatus.PENDING


def test_delete_refuses_active_sessions_and_cascades_results(db: Database, clock: Clock) -> None:
    sid = new_session(db, clock)
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        repo.start(sid)
        repo.store_result(sid, 0, replay={"gas": 1})
        with pytest.raises(ConflictError, match="cancel it before deleting"):
            repo.delete(sid)
        repo.cancel(sid)
        assert repo.delete(sid, owner="alice") is True
        assert repo.delete(sid) is False
    with db.engine.connect() as connection:
        count = connection.exec_driver_sql("SELECT count(*) FROM session_results").scalar()
    assert count == 0


def test_cleanup_by_age_and_stale_sessions(db: Database, clock: Clock) -> None:
    old_done, old_running, fresh_done, pending = (new_session(db, clock) for _ in range(4))
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        repo.start(old_done)
        repo.complete(old_done)
        repo.start(old_running)
    clock.advance(hours=30)
    with db.session() as s:
        repo = ReplaySessions(s, clock=clock)
        repo.fail(fresh_done, "rpc down")
        assert repo.fail_stale(3600) == 1
        assert repo.delete_finished_before(24) == 1
        stale = repo.require(old_running)
        assert repo.get(old_done) is None
        assert repo.get(fresh_done) is not None
        assert repo.require(pending).status is SessionStatus.PENDING
        with pytest.raises(InvalidInputError):
            repo.delete_finished_before(-1)
    assert stale.status is SessionStatus.FAILED
    assert stale.error is not None
    assert "stopped reporting" in stale.error
    assert stale.finished_at == T0 + dt.timedelta(hours=30)
    clock.advance(hours=25)
    with db.session() as s:
        assert ReplaySessions(s, clock=clock).delete_finished_before(24) == 2
