"""A worker's lease on the session it runs.

While a worker runs a session, a heartbeat thread renews the session's lease in the store every
third of `SESSION_LEASE_SECONDS`. If the worker dies (SIGKILL, OOM, power), the renewals stop, the
lease expires, and the sweeper of any live worker (`orchestration.sessions.requeue_lost`) puts the
session back to pending and queues it again; a worker starting up sweeps at once. A renewal that
finds the session no longer held by this worker (cancelled, finished, or re-queued and taken by
another worker after a long stall) marks the lease lost and the run stops at its next progress
report, so two workers never keep writing one session.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from types import TracebackType
from typing import Self

from timemachine.errors import StorageError
from timemachine.logs import get_logger
from timemachine.store import Database, ReplaySessions

log = get_logger(__name__)


def new_holder() -> str:
    """A name for one run of one session: host, pid and a random part (unique per claim)."""
    return f"{socket.gethostname()[:80]}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


class Lease:
    """Renews `holder`'s lease on `session_id` in a thread while the `with` block runs."""

    def __init__(self, db: Database, session_id: str, holder: str, seconds: float) -> None:
        self.db = db
        self.session_id = session_id
        self.holder = holder
        self.seconds = seconds
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="session-lease")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self.seconds)

    def renew(self) -> bool:
        """One renewal; False (and `lost` set) when the session is no longer ours."""
        with self.db.session() as s:
            held = ReplaySessions(s).renew_lease(
                self.session_id, holder=self.holder, lease_seconds=self.seconds
            )
        if not held:
            self.lost.set()
        return held

    def _run(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                if not self.renew():
                    log.warning("session lease lost", session_id=self.session_id)
                    return
            except StorageError as exc:  # the store is briefly unavailable: try again
                log.warning("lease renewal failed", session_id=self.session_id, error=str(exc))
