"""What an API process shares among its WebSockets: one bus subscription per channel, fanned out
to the followers an event concerns, and batched first reads of the sessions they open on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from timemachine.api.watch import Fanout, SessionLoader, session_fanout
from timemachine.bus import LocalBus
from timemachine.orchestration.progress import SESSIONS_CHANNEL
from timemachine.store import Database, ReplaySessions, open_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'watch.db'}")
    yield database
    database.dispose()


def _subscribers(bus: LocalBus, channel: str) -> int:
    return len(bus._subscribers.get(channel, ()))  # what the bus holds


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_one_subscription_serves_every_follower_and_ends_with_the_last() -> None:
    async def scenario() -> None:
        bus = LocalBus()
        fanout = session_fanout(bus)
        queues: dict[str, list[asyncio.Queue[Any]]] = {
            sid: [asyncio.Queue(), asyncio.Queue()] for sid in ("s1", "s2")
        }
        for sid, pair in queues.items():
            for queue in pair:
                fanout.follow(sid, queue)
        await _settle()
        assert _subscribers(bus, SESSIONS_CHANNEL) == 1
        bus.publish(SESSIONS_CHANNEL, {"session_id": "s1", "progress": 10})
        bus.publish(SESSIONS_CHANNEL, {"session_id": "s3", "progress": 99})  # nobody follows it
        await _settle()
        assert [q.get_nowait() for q in queues["s1"]] == [{"session_id": "s1", "progress": 10}] * 2
        assert all(q.empty() for q in queues["s1"] + queues["s2"])
        for sid, pair in queues.items():
            for queue in pair:
                fanout.unfollow(sid, queue)
        await _settle()
        assert _subscribers(bus, SESSIONS_CHANNEL) == 0

    asyncio.run(scenario())


def test_a_channel_fanout_hands_every_event_to_every_follower() -> None:
    async def scenario() -> None:
        bus = LocalBus()
        fanout = Fanout(bus, "status")
        first, second = asyncio.Queue[Any](), asyncio.Queue[Any]()
        fanout.follow("", first)
        fanout.follow("", second)
        await _settle()
        bus.publish("status", {"event": "queued"})
        await _settle()
        assert first.get_nowait() == second.get_nowait() == {"event": "queued"}

    asyncio.run(scenario())


class CountingLoader(SessionLoader):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.batches: list[int] = []

    def _load(self, keys: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], Any]:
        self.batches.append(len(keys))
        return super()._load(keys)


def test_sockets_opening_together_read_their_sessions_in_one_transaction(db: Database) -> None:
    with db.session() as s:
        sessions = ReplaySessions(s)
        mine = [sessions.create(owner="ann", kind="exploit", request={}) for _ in range(20)]
        theirs = sessions.create(owner="bob", kind="exploit", request={})

    async def scenario() -> None:
        loader = CountingLoader(db)
        wanted: list[tuple[str, str | None]] = [(record.id, "ann") for record in mine]
        wanted += [(theirs.id, "ann"), ("no-such-session", None), (theirs.id, None)]
        found = await asyncio.gather(*(loader.get(sid, owner) for sid, owner in wanted))
        assert [r.id if r else None for r in found] == [r.id for r in mine] + [
            None,
            None,
            theirs.id,
        ]
        assert loader.batches == [len(wanted)]

    asyncio.run(scenario())
