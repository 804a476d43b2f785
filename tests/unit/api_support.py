"""Shared fixtures and helpers of the API tests: an app on a temporary data directory (SQLite
store, embedded broker, in-process bus), started through its real lifespan.

`client` is logged in as the analyst `alice` (its default `Authorization` header); other users
get headers from `headers_for(client, name, role)`. Tokens are minted with the app's own signing
key (the login endpoint is throttled, and has its own tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.test_analysis_report import drain
from timemachine.analysis import analyze
from timemachine.api import create_app
from timemachine.models.auth import Role, UserRecord
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.security import tokens
from timemachine.security.accounts import create_user
from timemachine.settings import Settings
from timemachine.store import Database, ReplaySessions, Users

ENV_NAMES = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL")
ANALYST = "alice"
PASSWORD = "correct horse battery staple"


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(data_dir=data_dir, database_url="", **overrides)


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment whose data directory is `tmp_path`."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIME_MACHINE_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def client(isolated_env: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(isolated_env))) as test_client:
        test_client.headers.update(headers_for(test_client, ANALYST, Role.ANALYST))
        yield test_client


def database(client: TestClient) -> Database:
    db: Database = client.app.state.timemachine.db  # type: ignore[attr-defined]
    return db


def settings_of(client: TestClient) -> Settings:
    settings: Settings = client.app.state.timemachine.settings  # type: ignore[attr-defined]
    return settings


def user(client: TestClient, username: str, role: Role = Role.ANALYST) -> UserRecord:
    """The user `username`, created (password `PASSWORD`) if missing."""
    with database(client).session() as s:
        found = Users(s).by_username(username)
    return found or create_user(database(client), username, PASSWORD, role)


def access_token(client: TestClient, user_id: str) -> str:
    key = tokens.signing_key(settings_of(client))
    token, _ = tokens.issue(key, user_id, "access", lifetime=dt.timedelta(minutes=5))
    return token


def headers_for(client: TestClient, username: str, role: Role = Role.ANALYST) -> dict[str, str]:
    """Authorization headers of `username` (created with `role` if missing)."""
    return {"Authorization": f"Bearer {access_token(client, user(client, username, role).id)}"}


def owner_id(client: TestClient, username: str = ANALYST) -> str:
    return user(client, username).id


def new_session(
    client: TestClient, *, owner: str | None = None, kind: str = "exploit"
) -> ReplaySessionRecord:
    """A pending session of `owner` (a user id; default: alice's)."""
    with database(client).session() as s:
        return ReplaySessions(s).create(
            owner=owner or owner_id(client), kind=kind, request={"exploit_id": "reentrancy-bank"}
        )


def completed_session(
    client: TestClient,
    *,
    owner: str | None = None,
    with_trace: bool = True,
    with_analysis: bool = True,
) -> ReplaySessionRecord:
    """A session that ran to completion with the hand-built re-entrancy drain as its result."""
    result = drain()
    report = analyze(result)
    exclude = None if with_trace else {"trace", "state_diff"}
    record = new_session(client, owner=owner)
    with database(client).session() as s:
        sessions = ReplaySessions(s)
        sessions.start(record.id)
        sessions.store_result(
            record.id,
            0,
            tx_hash=result.tx_hash,
            replay=result.model_dump(mode="json", by_alias=True, exclude=exclude),
            analysis=report.model_dump(mode="json") if with_analysis else None,
        )
        return sessions.complete(record.id)


def drain_websocket(socket: Any) -> tuple[list[dict[str, Any]], int]:
    """Every message until the server closes; and the close code."""
    events: list[dict[str, Any]] = []
    while True:
        try:
            events.append(socket.receive_json())
        except WebSocketDisconnect as closed:
            return events, closed.code
