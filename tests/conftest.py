"""Shared fixtures. Integration tests run against a real anvil; outside CI they skip with a reason
when it cannot be found, in CI (CI=true) they fail instead."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from timemachine.errors import EngineNotFoundError
from timemachine.forks.locate import locate_binary

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[1]


def require_binary(name: str) -> Path:
    """The Foundry binary `name`, or a skip (a failure in CI) saying how to install it."""
    try:
        return locate_binary(name)
    except EngineNotFoundError as error:
        if IN_CI:
            pytest.fail(f"{error} (CI must not skip integration tests)")
        pytest.skip(str(error))


@pytest.fixture(scope="session")
def anvil_binary() -> Path:
    return require_binary("anvil")


@pytest.fixture(scope="session")
def cast_binary() -> Path:
    return require_binary("cast")


@pytest.fixture(scope="session")
async def devnet(anvil_binary: Path) -> AsyncIterator[object]:
    """One devnet, history built, shared by the whole session (it is read-only for tests)."""
    from timemachine.devnet import run_devnet

    async with run_devnet() as net:
        yield net
