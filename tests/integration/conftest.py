"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from timemachine.forks.devnet import Devnet
from timemachine.machine import TimeMachine


@pytest.fixture(scope="module")
async def machine(devnet: Devnet) -> AsyncIterator[TimeMachine]:
    """A warm TimeMachine on the session's devnet (forks reused within a test module)."""
    async with TimeMachine(devnet.rpc_url) as warm:
        yield warm
