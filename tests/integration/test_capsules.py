"""Capsules exported from the devnet replay offline — with the network really switched off."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine, replay_capsule_async
from timemachine.models.capsule import Capsule
from timemachine.replay.capsule_io import write_capsule

from ..conftest import IN_CI

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def exploit_capsule(devnet: Devnet, machine: TimeMachine) -> Capsule:
    return await machine.export_capsule(devnet.history.scenario("reentrancy-bank").exploit_tx)


async def test_exploit_capsule_holds_exactly_what_the_tx_touched(
    devnet: Devnet, exploit_capsule: Capsule
) -> None:
    history = devnet.history
    touched = {
        history.address_of(name).lower() for name in ("mallory", "BankAttacker", "EtherBank")
    }
    assert set(exploit_capsule.accounts) == touched | {"0x" + "00" * 20}
    bank = exploit_capsule.accounts[history.address_of("EtherBank").lower()]
    assert bank.balance == 50 * 10**18
    assert bank.nonce == 1  # filled in: anvil's prestate tracer omits contract nonces
    assert exploit_capsule.hardfork == "prague"
    assert exploit_capsule.expected.gas_used == 626_377
    assert [tx.hash for tx in exploit_capsule.transactions] == [
        history.scenario("reentrancy-bank").exploit_tx
    ]


async def test_exploit_capsule_replays_exactly(exploit_capsule: Capsule) -> None:
    result = await replay_capsule_async(exploit_capsule)
    assert result.fidelity.verdict == "exact"
    assert result.fidelity.trace_compared is True
    assert result.rpc_requests == 0
    assert result.replayed.gas_used == 626_377
    assert len([1 for _ in result.trace.walk()]) == 105


async def test_busy_block_capsule_replays_its_block_prefix_exactly(
    devnet: Devnet, machine: TimeMachine
) -> None:
    capsule = await machine.export_capsule(devnet.history.busy_tx)
    assert len(capsule.transactions) == 22  # the 21 earlier txs of the block, then the target
    result = await replay_capsule_async(capsule)
    assert result.fidelity.verdict == "exact"
    assert result.preceding_txs_replayed == 21


def _network_namespace() -> list[str]:
    """A command prefix that runs in a fresh network namespace with only loopback up."""
    available = shutil.which("unshare") and shutil.which("ip") and os.geteuid() == 0
    if not available:
        if IN_CI:
            pytest.fail("CI must run the no-network capsule test (needs root, unshare and ip)")
        pytest.skip("needs root, unshare and ip to switch the network off")
    return ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def test_capsule_replays_with_the_network_switched_off(
    exploit_capsule: Capsule, tmp_path: Path
) -> None:
    path = tmp_path / "exploit.capsule.zst"
    write_capsule(exploit_capsule, path)
    command = [sys.executable, "-m", "timemachine.cli.main", "capsule", "replay", str(path)]
    run = subprocess.run(
        [*_network_namespace(), *command, "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["fidelity"]["verdict"] == "exact"
    assert result["rpc_requests"] == 0


def test_cli_exports_and_refuses_bad_capsules(devnet: Devnet, tmp_path: Path) -> None:
    path = tmp_path / "busy.json"
    base = [sys.executable, "-m", "timemachine.cli.main", "capsule"]
    export = subprocess.run(
        [*base, "export", devnet.history.busy_tx, "-r", devnet.rpc_url, "-o", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert export.returncode == 0, export.stderr
    assert "verified offline: exact" in export.stdout
    document = json.loads(path.read_text())
    document["version"] = 99
    path.write_text(json.dumps(document))
    bad = subprocess.run([*base, "replay", str(path)], capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"error: {path} is capsule version 99; this build reads versions 1 and 2"
    ]


async def test_token_capsule_reads_the_same_balances_and_prices_offline(
    devnet: Devnet, machine: TimeMachine
) -> None:
    """Balances before/after and pair reserves are read with eth_call: the capsule records the
    state those reads touch (factory, pairs, token slots), so offline they read the same."""
    tx = devnet.history.scenario("amm-swaps").exploit_tx
    live = await machine.replay(tx)
    capsule = await machine.export_capsule(tx)
    offline = await replay_capsule_async(capsule)
    assert offline.rpc_requests == 0
    assert offline.fidelity.verdict == "exact"
    assert [p.token for p in live.token_prices] != []
    assert offline.token_prices == live.token_prices
    assert offline.balance_changes == live.balance_changes
    assert any(change.before is not None for change in offline.balance_changes if change.symbol)
