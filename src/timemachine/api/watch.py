"""One store poll and one bus subscription per channel per API process, for every WebSocket.

Each `/ws/sessions/{id}` client needs the store's view of its session: with the in-process bus a
worker's progress reaches the API only through the store, and with Redis the poll covers lost
events. Polling per socket cost one query and one thread hand-off per socket every 0.5 s (1,000
queries/s for 500 sockets), which starved the API's thread pool and database connections and
pushed the status endpoint's p99 to 101 ms. Here one task loads the state columns of every
followed session in one query per tick and hands the followers of a session its current event
when it changed since the last tick (so an idle session wakes none of its sockets).
With Redis the bus carries every event and the poll only covers lost ones, so it runs every
`BUS_POLL_SECONDS` instead.

The bus side likewise: each socket used to hold its own subscription (with Redis, one connection
and one reader task per socket, opened in a burst when hundreds of clients connect). `Fanout`
holds one subscription per channel for the whole process — `SESSIONS_CHANNEL` (every session's
events) for the session followers, `STATUS_CHANNEL` for `/ws/status` — and hands each event to
the queues of the sockets it concerns; it unsubscribes when the last follower leaves.

And the first read: a socket opening on a session reads it (owner-checked) through
`SessionLoader`, which reads every session asked for meanwhile in one transaction — 500 clients
connecting at once cost a handful of transactions and thread hand-offs, not 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from timemachine.errors import StorageError
from timemachine.logs import get_logger
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.orchestration.progress import SESSIONS_CHANNEL, session_event
from timemachine.ports import Event, EventBus
from timemachine.store import Database, ReplaySessions
from timemachine.store.sessions import SessionStateRow

log = get_logger(__name__)
POLL_SECONDS = 0.5
BUS_POLL_SECONDS = 2.0
DELETED = object()
"""Put on a follower's queue when its session no longer exists."""


class SessionWatcher:
    """Feeds followers' queues with their sessions' current events, `interval` apart."""

    def __init__(self, db: Database, interval: float = POLL_SECONDS) -> None:
        self.db = db
        self.interval = interval
        self._followers: dict[str, set[asyncio.Queue[Any]]] = {}
        self._delivered: dict[str, Any] = {}
        """The item last handed to each session's followers (they read the state themselves
        when they start following)."""
        self._task: asyncio.Task[None] | None = None

    def follow(self, session_id: str, queue: asyncio.Queue[Any]) -> None:
        self._followers.setdefault(session_id, set()).add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="session-watcher")

    def unfollow(self, session_id: str, queue: asyncio.Queue[Any]) -> None:
        queues = self._followers.get(session_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._followers[session_id]
                self._delivered.pop(session_id, None)

    def _load(self, ids: list[str]) -> dict[str, SessionStateRow]:
        with self.db.session() as s:
            return ReplaySessions(s).states(ids)

    async def _run(self) -> None:
        while self._followers:
            await asyncio.sleep(self.interval)
            ids = list(self._followers)
            if not ids:
                break
            try:
                records = await asyncio.to_thread(self._load, ids)
            except StorageError as exc:  # briefly unavailable: try again at the next tick
                log.warning("session poll failed", error=str(exc))
                continue
            for session_id in ids:
                record = records.get(session_id)
                item = session_event(record) if record is not None else DELETED
                queues = self._followers.get(session_id)
                if not queues or self._delivered.get(session_id) == item:
                    continue
                self._delivered[session_id] = item
                for queue in queues:
                    queue.put_nowait(item)


EVERYONE = ""
"""The key of followers that take every event of a channel."""


class Fanout:
    """One subscription to `channel`, its events put on the queues of the followers whose key is
    `key_of(event)`."""

    def __init__(
        self, bus: EventBus, channel: str, key_of: Callable[[Event], str] = lambda _: EVERYONE
    ) -> None:
        self.bus = bus
        self.channel = channel
        self.key_of = key_of
        self._followers: dict[str, set[asyncio.Queue[Any]]] = {}
        self._task: asyncio.Task[None] | None = None

    def follow(self, key: str, queue: asyncio.Queue[Any]) -> None:
        self._followers.setdefault(key, set()).add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"fanout:{self.channel}")

    def unfollow(self, key: str, queue: asyncio.Queue[Any]) -> None:
        queues = self._followers.get(key)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._followers[key]
        if not self._followers and self._task is not None:
            self._task.cancel()  # its subscription closes (the generator's cleanup)
            self._task = None

    async def _run(self) -> None:
        async for event in self.bus.subscribe(self.channel):
            for queue in self._followers.get(self.key_of(event), ()):
                queue.put_nowait(event)


def session_fanout(bus: EventBus) -> Fanout:
    """Every session's events, to the followers of that session (keyed by session id)."""
    return Fanout(bus, SESSIONS_CHANNEL, lambda event: str(event.get("session_id", "")))


class SessionLoader:
    """`ReplaySessions.get(session_id, owner=owner)` for many callers, batched: the requests
    that arrive while one batch is read form the next."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: dict[tuple[str, str | None], list[asyncio.Future[Any]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def get(self, session_id: str, owner: str | None) -> ReplaySessionRecord | None:
        """The session (None: absent or another owner's); StorageError when the store fails."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((session_id, owner), []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="session-loader")
        result: ReplaySessionRecord | None = await future
        return result

    def _load(
        self, keys: list[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], ReplaySessionRecord | None]:
        with self.db.session() as s:
            sessions = ReplaySessions(s)
            return {key: sessions.get(key[0], owner=key[1]) for key in keys}

    async def _run(self) -> None:
        await asyncio.sleep(0)  # the sockets opening in this tick join the first batch
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            try:
                records = await asyncio.to_thread(self._load, list(batch))
            except StorageError as exc:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for key, futures in batch.items():
                for future in futures:
                    if not future.done():  # its socket may have gone meanwhile
                        future.set_result(records[key])
