"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine


@pytest.fixture(scope="module")
async def machine(devnet: Devnet) -> AsyncIterator[TimeMachine]:
    """A warm TimeMachine on the session's devnet (forks reused within a test module)."""
    async with TimeMachine(devnet.rpc_url) as warm:
        yield warm


POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped afterwards) on the machine's server.

    Outside CI an unreachable server skips with the reason; with CI=true it fails instead."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from tests.conftest import IN_CI

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tm_store_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL at {POSTGRES_ADMIN_URL} unreachable: {error.orig}"
        if IN_CI:
            pytest.fail(f"{reason} (CI must not skip integration tests)")
        pytest.skip(reason)
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
