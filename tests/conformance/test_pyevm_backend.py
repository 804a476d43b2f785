"""py-evm as the backend of an ordinary replay: a geth tracer fixture from before Byzantium,
turned into a capsule (prestate, block environment, the signed transaction, geth's outcome) and
replayed through the normal capsule replay (the `run_on_fork` pipeline, `ReplayResult` and
fidelity verdict), with the backend chosen through `ForkBackend`. It must use exactly the gas
geth reports. The fixtures are read from ../shared at run time (in CI they must be there).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, REPO
from timemachine.chain.blocks import raw_transaction_hash
from timemachine.chain.hardforks import is_at_least
from timemachine.conformance.geth import block_env, load_fixture
from timemachine.machine import replay_capsule_async
from timemachine.models.capsule import Capsule, CapsuleAccount, CapsuleOutcome, CapsuleTransaction
from timemachine.replay.backends import PyEvmBackend
from timemachine.replay.capsule import replay_capsule
from timemachine.replay.capsule_io import write_capsule
from timemachine.trace.decoder import Decoder

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

FIXTURE = REPO.parent / "shared" / "fixtures" / "geth-tracetest" / "call_tracer" / "deep_calls.json"


def _capsule() -> tuple[Capsule, int]:
    if not FIXTURE.is_file():
        if IN_CI:
            pytest.fail(f"{FIXTURE} is missing")
        pytest.skip(f"{FIXTURE} is missing")
    fixture = load_fixture(FIXTURE, "call_tracer")
    gas = int(fixture.result["gasUsed"], 16)
    alloc: dict[str, Any] = fixture.genesis["alloc"]
    capsule = Capsule(
        chain_id=int(fixture.genesis["config"]["chainId"]),
        hardfork=fixture.hardfork,
        block_env=block_env(fixture),
        accounts={
            address.lower(): CapsuleAccount(
                balance=int(str(account.get("balance", "0x0")), 16),
                nonce=int(str(account.get("nonce", 0)), 0),
                code=account.get("code", "0x"),
                storage={
                    slot: "0x" + value[2:].rjust(64, "0")
                    for slot, value in (account.get("storage") or {}).items()
                },
            )
            for address, account in alloc.items()
        },
        transactions=[
            CapsuleTransaction(hash=raw_transaction_hash(fixture.raw_tx), raw=fixture.raw_tx)
        ],
        expected=CapsuleOutcome(status=0 if "error" in fixture.result else 1, gas_used=gas),
    )
    return capsule, gas


async def test_pyevm_replays_a_pre_byzantium_fixture_with_geths_gas() -> None:
    capsule, gas = _capsule()
    assert not is_at_least(capsule.hardfork, "byzantium")
    result = await replay_capsule(capsule, PyEvmBackend(), Decoder(bundled=False))
    assert result.replayed.gas_used == gas
    assert result.original is not None
    assert result.original.gas_used == gas
    assert result.hardfork == capsule.hardfork
    assert result.tx_hash == raw_transaction_hash(capsule.transactions[0].raw or "").lower()
    assert result.trace.gas_used == gas
    assert "gas_used" not in {d.field for d in result.fidelity.differences}
    assert "executed on py-evm" in result.fidelity.notes


async def test_the_backend_is_chosen_by_name_for_a_capsule_replay() -> None:
    capsule, gas = _capsule()
    chosen = await replay_capsule_async(capsule, backend="pyevm")
    assert chosen.replayed.gas_used == gas
    assert "executed on py-evm" in chosen.fidelity.notes
    # auto: before London a capsule of signed transactions runs on py-evm as well.
    auto = await replay_capsule_async(capsule)
    assert auto.replayed.gas_used == gas
    assert "executed on py-evm" in auto.fidelity.notes


def test_the_cli_replays_a_capsule_on_the_backend_it_is_told(tmp_path: Path) -> None:
    capsule, gas = _capsule()
    path = tmp_path / "fixture.capsule.zst"
    write_capsule(capsule, path)
    base = [sys.executable, "-m", "timemachine.cli.main", "capsule", "replay", str(path)]
    run = subprocess.run(
        [*base, "--backend", "pyevm", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["replayed"]["gas_used"] == gas
    assert "executed on py-evm" in result["fidelity"]["notes"]
    bad = subprocess.run(
        [*base, "--backend", "evmone"], capture_output=True, text=True, check=False, timeout=120
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: unknown backend 'evmone'; choose one of auto, anvil, pyevm"
