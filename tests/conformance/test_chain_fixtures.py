"""Chain-specific transactions through the live-RPC replay path: OP-stack deposits and the L1
data fee (Optimism, Base), Arbitrum's transaction types and L1 gas, BNB Chain system
transactions, Polygon state-sync transactions. Each fixture (tests/conformance/chain_fixtures,
written by scripts/build_chain_fixtures.py from the chains' public specs) is served by a
stand-in node and replayed: an ordinary transaction is judged exactly with notes naming what
the chain adds, a chain-specific one is refused with the precise part not modelled.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from timemachine.conformance.chain_fixtures import build_all
from timemachine.conformance.live import replay_chain_fixture
from timemachine.forks.manager import ForkManager
from timemachine.replay.chain_txs import ChainTxNotModelledError

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

DIRECTORY = REPO / "tests" / "conformance" / "chain_fixtures"
FIXTURES = {fixture["name"]: fixture for fixture in build_all()}


def test_the_fixture_files_are_the_builders_current_output() -> None:
    files = {path.name: json.loads(path.read_text()) for path in DIRECTORY.glob("*.json")}
    built = {name.replace("/", "__") + ".json": fixture for name, fixture in FIXTURES.items()}
    assert files == json.loads(json.dumps(built))
    assert {fixture["chain"] for fixture in FIXTURES.values()} == {
        "optimism",
        "base",
        "arbitrum",
        "bsc",
        "polygon",
        "ethereum",
    }


@pytest.fixture(scope="module")
async def forks(anvil_binary: Path) -> AsyncIterator[ForkManager]:
    manager = ForkManager(binary=anvil_binary)
    yield manager
    await manager.shutdown()


@pytest.mark.parametrize("name", sorted(FIXTURES))
async def test_each_chain_fixture_is_replayed_exactly_or_refused_precisely(
    name: str, forks: ForkManager
) -> None:
    fixture: dict[str, Any] = json.loads(
        (DIRECTORY / (name.replace("/", "__") + ".json")).read_text()
    )
    expect = fixture["expect"]
    if "error" in expect:
        with pytest.raises(ChainTxNotModelledError) as refused:
            await replay_chain_fixture(fixture, forks)
        assert expect["error"] in str(refused.value)
        assert f"transaction {fixture['target']} is " in str(refused.value)
        assert "which the engine does not model; it is not replayed" in str(refused.value)
        return
    result = await replay_chain_fixture(fixture, forks)
    assert result.fidelity.verdict == expect["verdict"], result.fidelity.differences
    assert result.replayed.gas_used == expect["gas_used"]
    assert result.original is not None
    assert result.original.gas_used == expect["gas_used"]
    assert result.fidelity.backend == expect.get("backend", "anvil")
    chain_notes = [
        note for note in result.fidelity.notes if not note.startswith(("block ", "executed on "))
    ]
    assert [
        any(note.startswith(expected) for note in chain_notes) for expected in expect["notes"]
    ] == [True] * len(expect["notes"])
    named = [note for note in chain_notes if "the engine rejected it" not in note]
    assert len(named) == len(expect["notes"])


async def test_the_pre_london_block_diverges_on_anvil(forks: ForkManager) -> None:
    """The Byzantium fixture's refund needs py-evm: anvil misprices the reset and the refund."""
    fixture = FIXTURES["ethereum/byzantium_sstore_refund_after_an_earlier_tx"]
    on_anvil = await replay_chain_fixture(fixture, forks, choice="anvil")
    assert on_anvil.fidelity.verdict == "diverged"
    assert on_anvil.replayed.gas_used != fixture["expect"]["gas_used"]
    assert on_anvil.fidelity.backend_reason == "anvil: the backend asked for"
