"""Shared fixtures and helpers of the API tests: an app on a temporary data directory (SQLite
store, embedded broker, in-process bus), started through its real lifespan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.unit.test_analysis_report import drain
from timemachine.analysis import analyze
from timemachine.api import create_app
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.settings import Settings
from timemachine.store import Database, ReplaySessions

ENV_NAMES = ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL")


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
        yield test_client


def database(client: TestClient) -> Database:
    db: Database = client.app.state.timemachine.db  # type: ignore[attr-defined]
    return db


def new_session(
    client: TestClient, *, owner: str = "anonymous", kind: str = "exploit"
) -> ReplaySessionRecord:
    with database(client).session() as s:
        return ReplaySessions(s).create(
            owner=owner, kind=kind, request={"exploit_id": "reentrancy-bank"}
        )


def completed_session(
    client: TestClient,
    *,
    owner: str = "anonymous",
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
