"""The API's credential cache: a cached token is refused at once after a revocation made by this
process, after at most `WATCH_SECONDS` when another process revoked it (a row written past the
ORM here, as another process would), never past its own expiry; concurrent misses share one
lookup."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update

from timemachine.api.credential_cache import (
    CACHE_SECONDS,
    WATCH_SECONDS,
    CredentialCache,
    Stamp,
)
from timemachine.errors import AuthenticationError
from timemachine.models.auth import Role, Scope
from timemachine.security import accounts, tokens
from timemachine.security.principal import Principal
from timemachine.settings import Settings
from timemachine.store import Database, TokenRevocations, open_database
from timemachine.store.revocations import TokenRevocation
from timemachine.store.security_tables import ApiKey
from timemachine.store.tables import utcnow


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counted:
    """`principal_for(token)`, counting the lookups."""

    def __init__(self, settings: Settings, db: Database, token: str) -> None:
        self.settings, self.db, self.token = settings, db, token
        self.calls = 0

    def __call__(self) -> Principal:
        self.calls += 1
        return accounts.principal_for(self.settings, self.db, self.token)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url="")


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings.database_url)
    yield database
    database.dispose()


def _token(settings: Settings, user_id: str, minutes: float = 5) -> str:
    key = tokens.signing_key(settings)
    token, _ = tokens.issue(key, user_id, "access", lifetime=dt.timedelta(minutes=minutes))
    return token


def _revoke_elsewhere(db: Database, principal: Principal) -> None:
    """What another process's logout leaves in the store (no ORM session of this process)."""
    assert principal.token_id is not None
    with db.engine.begin() as connection:
        connection.execute(
            insert(TokenRevocation).values(
                user_id=principal.user_id,
                jti=principal.token_id,
                reason="logout",
                created_at=utcnow(),
                expires_at=utcnow() + dt.timedelta(hours=1),
            )
        )


def test_a_revocation_by_this_process_refuses_a_cached_token_at_once(
    settings: Settings, db: Database
) -> None:
    async def scenario() -> None:
        user = accounts.create_user(db, "olga", "a long enough password", Role.ANALYST)
        cache = CredentialCache(db, clock=Clock())
        resolve = Counted(settings, db, _token(settings, user.id))
        first = await cache.principal(resolve.token, resolve)
        assert await cache.principal(resolve.token, resolve) == first
        assert resolve.calls == 1  # the second request skipped the store
        assert first.token_id is not None
        assert first.token_expires_at is not None
        with db.session() as s:  # the logout route, in this process; the clock stands still
            TokenRevocations(s).revoke_token(
                user.id, first.token_id, expires_at=first.token_expires_at, reason="logout"
            )
        with pytest.raises(AuthenticationError, match="revoked"):
            await cache.principal(resolve.token, resolve)
        assert await cache.still_valid(first) is False

    asyncio.run(scenario())


def test_another_process_revocation_refuses_within_the_watch_interval(
    settings: Settings, db: Database
) -> None:
    async def scenario() -> None:
        user = accounts.create_user(db, "pavel", "a long enough password", Role.ANALYST)
        clock = Clock()
        cache = CredentialCache(db, clock=clock)
        resolve = Counted(settings, db, _token(settings, user.id))
        principal = await cache.principal(resolve.token, resolve)
        assert await cache.still_valid(principal) is True
        _revoke_elsewhere(db, principal)
        clock.now += WATCH_SECONDS  # the bound: the store's stamp is read again by now
        with pytest.raises(AuthenticationError, match="revoked"):
            await cache.principal(resolve.token, resolve)
        assert await cache.still_valid(principal) is False
        assert resolve.calls == 2

    asyncio.run(scenario())


def test_an_api_key_revoked_elsewhere_stops_within_the_watch_interval(
    settings: Settings, db: Database
) -> None:
    async def scenario() -> None:
        owner = accounts.create_user(db, "quinn", "a long enough password", Role.ANALYST)
        principal = Principal(user_id=owner.id, username=owner.username, role=owner.role)
        scopes = [Scope.SESSIONS_READ]
        record, key = accounts.create_api_key(db, principal, name="ci", scopes=scopes)
        clock = Clock()
        cache = CredentialCache(db, clock=clock)
        resolve = Counted(settings, db, key)
        assert (await cache.principal(key, resolve)).api_key_id == record.id
        with db.engine.begin() as connection:
            connection.execute(
                update(ApiKey).where(ApiKey.id == record.id).values(revoked_at=utcnow())
            )
        clock.now += WATCH_SECONDS
        with pytest.raises(AuthenticationError, match="API key"):
            await cache.principal(key, resolve)

    asyncio.run(scenario())


def test_entries_live_at_most_cache_seconds_and_never_past_the_token_expiry(
    settings: Settings, db: Database
) -> None:
    async def scenario() -> None:
        user = accounts.create_user(db, "rosa", "a long enough password", Role.ANALYST)
        clock = Clock()
        cache = CredentialCache(db, clock=clock)
        cache.watch.stamp = _frozen(await cache.watch.stamp())  # type: ignore[method-assign]
        lasting = Counted(settings, db, _token(settings, user.id))
        await cache.principal(lasting.token, lasting)
        clock.now += CACHE_SECONDS - 0.1
        await cache.principal(lasting.token, lasting)
        assert lasting.calls == 1
        clock.now += 0.1
        await cache.principal(lasting.token, lasting)
        assert lasting.calls == 2
        brief = Counted(settings, db, _token(settings, user.id, minutes=1 / 60))  # 1 s left
        await cache.principal(brief.token, brief)
        clock.now += 1.0
        await cache.principal(brief.token, brief)  # its second is over: looked up again
        assert brief.calls == 2

    asyncio.run(scenario())


def test_concurrent_misses_share_one_lookup(settings: Settings, db: Database) -> None:
    async def scenario() -> None:
        user = accounts.create_user(db, "sven", "a long enough password", Role.VIEWER)
        cache = CredentialCache(db, clock=Clock())
        resolve = Counted(settings, db, _token(settings, user.id))
        principals = await asyncio.gather(
            *(cache.principal(resolve.token, resolve) for _ in range(50))
        )
        assert len(set(principals)) == 1
        assert resolve.calls == 1

    asyncio.run(scenario())


def _frozen(stamp: Stamp) -> Callable[[], Coroutine[Any, Any, Stamp]]:
    """A watch that always answers `stamp` (to look at deadlines alone)."""

    async def fixed() -> Stamp:
        return stamp

    return fixed
