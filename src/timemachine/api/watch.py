"""One store poll per API process for every WebSocket following a session.

Each `/ws/sessions/{id}` client needs the store's view of its session: with the in-process bus a
worker's progress reaches the API only through the store, and with Redis the poll covers lost
events. Polling per socket cost one query and one thread hand-off per socket every 0.5 s (1,000
queries/s for 500 sockets), which starved the API's thread pool and database connections and
pushed the status endpoint's p99 to 101 ms. Here one task loads the state columns of every
followed session in one query per tick and hands each follower its session's current event.
With Redis the bus carries every event and the poll only covers lost ones, so it runs every
`BUS_POLL_SECONDS` instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from timemachine.errors import StorageError
from timemachine.logs import get_logger
from timemachine.orchestration.progress import session_event
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
                for queue in self._followers.get(session_id, ()):
                    queue.put_nowait(item)
