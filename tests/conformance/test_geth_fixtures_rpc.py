"""go-ethereum's tracer fixtures through the live-RPC replay path.

Each fixture is served by a loopback stand-in node (`conformance.standin`: blocks, the tx and its
receipt, balances, nonces, code, storage, prestateTracer, its chain config in admin_nodeInfo) and
replayed by the ReplayEngine as a transaction of a real provider is; the fixture's tracer then
runs on the replayed fork and must equal geth's output (`timemachine conformance geth --via-rpc`).
The fixtures are read from ../shared at run time (in CI they must be there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conformance.test_geth_fixtures import FIXTURES, SET_CODE_CASES, TOTAL
from tests.conftest import IN_CI
from timemachine.chain.hardforks import is_at_least
from timemachine.conformance.geth import load_fixture
from timemachine.conformance.live import replay_fixture_via_rpc
from timemachine.conformance.standin import served_chain_id
from timemachine.forks.manager import ForkManager

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

# Frontier, mainnet (chain id 1 at a block the mainnet schedule puts in Frontier): geth's receipt
# and call tree with logs. anvil 1.7.1 charges 2,465,735 gas for it (revm prices Frontier's
# SSTOREs with later constants); geth charged 2,453,695.
PRE_LONDON_MAINNET = "call_tracer_withLog/multilogs.json"
GETH_GAS = 2_453_695
ANVIL_GAS = 2_465_735


def _fixtures_present() -> None:
    if not FIXTURES.is_dir():
        message = f"geth tracer fixtures not found at {FIXTURES} (they live in ../shared)"
        if IN_CI:
            pytest.fail(f"{message}; CI must not skip the conformance suite")
        pytest.skip(message)


@pytest.fixture(scope="module")
def report(anvil_binary: Path) -> dict[str, Any]:
    _fixtures_present()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "timemachine.cli.main",
            *("conformance", "geth", str(FIXTURES), "--via-rpc", "--json"),
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
        env={**os.environ, "ANVIL_PATH": str(anvil_binary)},
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def test_every_fixture_replayed_through_rpc_matches_geth(report: dict[str, Any]) -> None:
    assert (report["total"], report["matched"], report["failed"], report["errors"]) == (
        TOTAL,
        TOTAL,
        0,
        0,
    )
    assert [case["name"] for case in report["cases"] if case["status"] != "matched"] == []


def test_each_replay_names_the_backend_chosen_for_its_fork_and_why(
    report: dict[str, Any],
) -> None:
    for case in report["cases"]:
        pyevm = not is_at_least(case["hardfork"], "london") or case["name"] in SET_CODE_CASES
        assert case["backend"] == ("py-evm" if pyevm else "anvil"), case["name"]
        (reason,) = case["notes"]
        assert reason.startswith("py-evm: " if pyevm else "anvil: "), case["name"]
        if not is_at_least(case["hardfork"], "london"):
            assert f"{case['hardfork']} is before London" in reason
        elif pyevm:
            assert "EIP-7702 set-code transaction" in reason


@pytest.fixture(scope="module")
async def forks(anvil_binary: Path) -> Any:
    manager = ForkManager(binary=anvil_binary)
    yield manager
    await manager.shutdown()


async def test_a_pre_london_mainnet_replay_through_rpc_has_geths_gas_and_trace(
    forks: ForkManager,
) -> None:
    _fixtures_present()
    fixture = load_fixture(FIXTURES / PRE_LONDON_MAINNET, "call_tracer_withLog")
    assert fixture.hardfork == "frontier"
    assert served_chain_id(fixture) == 1  # the mainnet schedule decides its fork

    on_anvil = await replay_fixture_via_rpc(fixture, forks, choice="anvil")
    assert on_anvil.backend == "anvil"
    assert on_anvil.result.replayed.gas_used == ANVIL_GAS
    assert on_anvil.result.fidelity.verdict == "diverged"
    assert [d.field for d in on_anvil.result.fidelity.differences] == ["gas_used"]
    assert on_anvil.actual != on_anvil.expected

    for debug_api in (True, False):
        live = await replay_fixture_via_rpc(fixture, forks, debug_api=debug_api)
        result = live.result
        assert live.backend == "py-evm"
        assert result.hardfork == "frontier"
        assert result.original is not None
        assert result.original.gas_used == result.replayed.gas_used == GETH_GAS
        assert result.trace.gas_used == GETH_GAS
        assert result.fidelity.verdict == "exact", result.fidelity.differences
        assert result.fidelity.backend == "py-evm"
        assert result.fidelity.backend_reason == (
            "py-evm: frontier is before London, where anvil 1.7.1 (revm) misprices SSTORE, EXP "
            "and SELFDESTRUCT refunds; py-evm charges what geth charges"
        )
        assert live.actual == live.expected  # geth's callTracer output, logs included
        storage_reads = live.methods.count("eth_getStorageAt")
        if debug_api:
            # The block's prestate came from one prestateTracer call; the gateway answered
            # py-evm's reads from it, all but the 2 slots the tracer did not list.
            assert storage_reads == 2
        else:
            # No tracer: every slot the block reads was fetched from the node, in batches.
            assert storage_reads == 107
