"""Resolved credentials, cached per API process, so most requests skip the database for auth.

Resolving a bearer token (`accounts.principal_for`: the user, the token's revocations or the API
key) cost every request a database transaction; under load that was most of the status
endpoint's time. Here a token's `Principal` (and, for open WebSockets, whether a principal still
stands) is kept for at most `CACHE_SECONDS` — never past the token's expiry — and only while
nothing changed:

- a change made by *this* process (logout, password change, disable, role change, API key
  revocation) is noticed at once: the store counts such commits (`credential_generation`);
- a change made by another process (another API instance, `timemachine users set-password`) is
  noticed within `WATCH_SECONDS`: the store's `credential_stamp` is re-read that often;
- anything else (e.g. a clock-skewed update on another instance) within `CACHE_SECONDS`.

Concurrent misses for one key share one lookup (500 sockets of one user re-check once).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.requests import HTTPConnection

from timemachine.api.deps import app_state, per_app
from timemachine.security.accounts import principal_for, still_valid
from timemachine.security.principal import Principal
from timemachine.store import Database, TokenRevocations
from timemachine.store.revocations import credential_generation

CACHE_SECONDS = 5.0
WATCH_SECONDS = 0.5
MAX_ENTRIES = 10_000
Stamp = tuple[int, tuple[int, str, str]]
"""(this process's credential generation, the store's credential stamp)."""
V = TypeVar("V")


class CredentialWatch:
    """The current `Stamp`; the store's part read at most every `WATCH_SECONDS` (one read shared
    by every caller)."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self._clock = clock
        self._stored: tuple[int, str, str] = (0, "", "")
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    def _read(self) -> tuple[int, str, str]:
        with self.db.session() as s:
            return TokenRevocations(s).credential_stamp()

    async def stamp(self) -> Stamp:
        generation = credential_generation()  # read first: a later change makes it stale
        if self._clock() - self._read_at < WATCH_SECONDS:
            return generation, self._stored  # fresh: no lock (every request and socket asks)
        async with self._lock:
            if self._clock() - self._read_at >= WATCH_SECONDS:
                self._stored = await asyncio.to_thread(self._read)
                self._read_at = self._clock()
            return generation, self._stored


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    stamp: Stamp
    until: float


class StampedCache(Generic[V]):
    """Values valid while the stamp is unchanged and until their deadline; one computation per
    key at a time."""

    def __init__(self, watch: CredentialWatch, clock: Callable[[], float] = time.monotonic) -> None:
        self.watch = watch
        self._clock = clock
        self._entries: dict[Hashable, _Entry[V]] = {}
        self._pending: dict[tuple[Hashable, Stamp], asyncio.Future[V]] = {}

    async def get(
        self, key: Hashable, compute: Callable[[], V], lifetime: Callable[[V], float]
    ) -> V:
        """The value of `key`: cached, or `compute()` (in a thread) kept for `lifetime(value)`
        seconds at most. Exceptions are not cached."""
        stamp = await self.watch.stamp()
        entry = self._entries.get(key)
        if entry is not None and entry.stamp == stamp and self._clock() < entry.until:
            return entry.value
        pending = self._pending.get((key, stamp))
        if pending is None:
            pending = asyncio.ensure_future(self._compute(key, stamp, compute, lifetime))
            self._pending[(key, stamp)] = pending
        return await asyncio.shield(pending)  # a cancelled caller leaves it to the others

    async def _compute(
        self, key: Hashable, stamp: Stamp, compute: Callable[[], V], lifetime: Callable[[V], float]
    ) -> V:
        started = self._clock()
        try:
            value = await asyncio.to_thread(compute)
        finally:
            del self._pending[(key, stamp)]
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()  # bounded memory: the next requests look up again
        self._entries[key] = _Entry(value, stamp, started + lifetime(value))
        return value


def _lifetime(principal: Principal) -> float:
    """`CACHE_SECONDS`, or less when the access token expires sooner."""
    if principal.token_expires_at is None:
        return CACHE_SECONDS
    left = (principal.token_expires_at - dt.datetime.now(dt.UTC)).total_seconds()
    return min(CACHE_SECONDS, left)


class CredentialCache:
    """Tokens → principals, and principals → still valid, for one API process."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.watch = CredentialWatch(db, clock)
        self._principals: StampedCache[Principal] = StampedCache(self.watch, clock)
        self._verdicts: StampedCache[bool] = StampedCache(self.watch, clock)

    def principal(self, token: str, resolve: Callable[[], Principal]) -> Awaitable[Principal]:
        """Who `token` is (`resolve()` when not cached); AuthenticationError when invalid."""
        return self._principals.get(token, resolve, _lifetime)

    def still_valid(self, principal: Principal) -> Awaitable[bool]:
        """Whether the credential `principal` came from still stands (`accounts.still_valid`)."""
        return self._verdicts.get(
            principal, lambda: still_valid(self.db, principal), lambda _: CACHE_SECONDS
        )


def credential_cache(connection: HTTPConnection) -> CredentialCache:
    """This app's cache."""
    return per_app(
        connection, "credential_cache", lambda: CredentialCache(app_state(connection).db)
    )


async def cached_principal(connection: HTTPConnection, token: str) -> Principal:
    """`accounts.principal_for(token)` through this app's cache."""
    state = app_state(connection)
    return await credential_cache(connection).principal(
        token, lambda: principal_for(state.settings, state.db, token)
    )
