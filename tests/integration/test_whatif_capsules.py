"""What-if capsules: a what-if exported from the devnet replays offline exactly as it ran live.

Addresses and hashes come from the devnet history (records and labels), never typed in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from timemachine.catalog.artifacts import load_artifact
from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine, replay_capsule_async
from timemachine.models import ReplayResult
from timemachine.models.capsule import Capsule
from timemachine.models.whatif import AccountOverride, CallSpec, WhatIf
from timemachine.replay.capsule_io import read_capsule, write_capsule

from .test_capsules import _network_namespace
from .test_cli import timemachine
from .test_verify_fix import carol_swap, fix_patch

pytestmark = pytest.mark.integration


def assert_same_run(offline: ReplayResult, live: ReplayResult) -> None:
    """The offline replay of a what-if capsule did what the live what-if did."""
    assert offline.fidelity.verdict == "exact", offline.fidelity.differences
    assert offline.rpc_requests == 0
    assert offline.replayed.status == live.replayed.status
    assert offline.replayed.gas_used == live.replayed.gas_used
    assert offline.replayed.logs == live.replayed.logs
    assert offline.trace.revert_reason == live.trace.revert_reason
    assert offline.balance_changes == live.balance_changes
    assert offline.sender == live.sender


@pytest.fixture(scope="module")
async def fixed_bank(devnet: Devnet, machine: TimeMachine) -> tuple[WhatIf, ReplayResult, Capsule]:
    record = devnet.history.scenario("reentrancy-bank")
    request = WhatIf(patches=[fix_patch(devnet, "reentrancy-bank")])
    live = await machine.whatif(record.exploit_tx, request)
    capsule = await machine.export_capsule(record.exploit_tx, request)
    return request, live, capsule


async def test_fixed_bank_capsule_reverts_offline_like_the_live_whatif(
    devnet: Devnet, fixed_bank: tuple[WhatIf, ReplayResult, Capsule], tmp_path: Path
) -> None:
    _, live, capsule = fixed_bank
    bank = devnet.history.address_of("EtherBank").lower()
    assert live.replayed.status == 0  # the fix stops the exploit
    assert capsule.version == 2
    assert capsule.whatif is not None
    assert [(edit.address, edit.code is not None) for edit in capsule.whatif.state] == [
        (bank, True)
    ]
    assert capsule.whatif.original.status == 1
    assert capsule.whatif.original.gas_used == 626_377
    assert capsule.expected.status == 0
    assert capsule.expected.gas_used == live.replayed.gas_used

    path = tmp_path / "fixed.capsule.zst"
    write_capsule(capsule, path)
    assert read_capsule(path) == capsule
    offline = await replay_capsule_async(path)
    assert_same_run(offline, live)
    assert offline.trace.revert_reason is not None
    assert any("patched code of" in note for note in offline.fidelity.notes)


async def test_the_carried_code_edit_is_what_stops_the_exploit_offline(
    fixed_bank: tuple[WhatIf, ReplayResult, Capsule],
) -> None:
    """Without its state edits the same capsule runs the unpatched bank: the exploit succeeds,
    which the capsule's expectation (the live what-if's revert) calls diverged."""
    _, _, capsule = fixed_bank
    assert capsule.whatif is not None
    stripped = capsule.model_copy(
        update={"whatif": capsule.whatif.model_copy(update={"state": []})}
    )
    offline = await replay_capsule_async(stripped)
    assert offline.replayed.status == 1
    assert offline.replayed.gas_used == 626_377
    assert offline.fidelity.verdict == "diverged"
    assert "status" in {difference.field for difference in offline.fidelity.differences}


def test_cli_exports_a_whatif_json_capsule_and_replays_it_without_network(
    devnet: Devnet, fixed_bank: tuple[WhatIf, ReplayResult, Capsule], tmp_path: Path
) -> None:
    request, live, _ = fixed_bank
    spec = tmp_path / "fix.json"
    spec.write_text(request.model_dump_json())
    path = tmp_path / "fixed.capsule.zst"
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    export = timemachine(
        "capsule", "export", tx, "-r", devnet.rpc_url, "--whatif-json", str(spec), "-o", str(path)
    )
    assert export.returncode == 0, export.stderr
    assert "what-if" in export.stdout
    assert "verified offline: exact" in export.stdout
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
    assert result["replayed"]["status"] == 0
    assert result["replayed"]["gas_used"] == live.replayed.gas_used
    human = timemachine("capsule", "replay", str(path))
    assert human.returncode == 0, human.stderr
    assert "what-if: patched code of" in human.stdout


def test_cli_refuses_whatif_json_with_whatif_flags(devnet: Devnet, tmp_path: Path) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text('{"patches": [{"address": "0x00"}]}')
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    out = str(tmp_path / "x.capsule")
    bad = timemachine("capsule", "export", tx, "-r", devnet.rpc_url, "--whatif-json", str(spec))
    assert bad.returncode != 0
    refused = timemachine(
        "capsule", "export", tx, "-r", devnet.rpc_url, "--whatif-json", str(spec), "-o", out
    )
    assert refused.returncode == 2
    assert "--whatif-json" in refused.stderr
    assert "patches" in refused.stderr
    both = timemachine(
        "capsule",
        "export",
        tx,
        "-r",
        devnet.rpc_url,
        "--whatif-json",
        str(spec),
        "--sender",
        devnet.history.address_of("dave"),
        "-o",
        out,
    )
    assert both.returncode == 2
    assert "give one or the other" in both.stderr
    assert not Path(out).exists()


async def test_storage_override_and_sender_capsules(machine: TimeMachine, devnet: Devnet) -> None:
    history = devnet.history
    record = history.scenario("unprotected-initializer")
    wallet = history.address_of("TreasuryWallet")
    slot0 = await machine.upstream.call(
        "eth_getStorageAt", [wallet, "0x0", hex(record.block_number - 1)]
    )
    reopened = WhatIf(
        patches=[fix_patch(devnet, "unprotected-initializer")],
        overrides=[
            AccountOverride(address=wallet, storage={"0x0": hex(int(slot0, 16) & (2**160 - 1))})
        ],
    )
    live = await machine.whatif(record.exploit_tx, reopened)
    assert live.replayed.status == 1  # the cleared flag opens the fixed wallet again
    capsule = await machine.export_capsule(record.exploit_tx, reopened)
    assert capsule.whatif is not None
    assert [bool(edit.storage) for edit in capsule.whatif.state] == [False, True]
    assert_same_run(await replay_capsule_async(capsule), live)

    as_dave = WhatIf(sender=history.address_of("dave"))
    live = await machine.whatif(record.exploit_tx, as_dave)
    capsule = await machine.export_capsule(record.exploit_tx, as_dave)
    assert capsule.target.fields is not None
    assert capsule.target.fields["from"] == history.address_of("dave")
    offline = await replay_capsule_async(capsule)
    assert offline.replayed.status == 0
    assert_same_run(offline, live)


async def test_moved_transaction_capsule(machine: TimeMachine, devnet: Devnet) -> None:
    history = devnet.history
    block = await machine.upstream.call("eth_getBlockByNumber", [hex(history.busy_block), False])
    hashes: list[Any] = block["transactions"]
    earlier = hashes[: hashes.index(history.busy_tx)]
    request = WhatIf(drop=[earlier[0]], before=[earlier[0]])
    live = await machine.whatif(history.busy_tx, request)
    capsule = await machine.export_capsule(history.busy_tx, request)
    assert [tx.hash for tx in capsule.transactions] == [*earlier[1:], earlier[0], history.busy_tx]
    offline = await replay_capsule_async(capsule)
    assert offline.preceding_txs_replayed == len(earlier)
    assert_same_run(offline, live)


async def test_later_block_capsule_with_an_inserted_call(
    machine: TimeMachine, devnet: Devnet
) -> None:
    """`at_block`: the capsule holds the later block's state; the inserted call (no hash) and
    the time-shifted swap's slippage revert replay offline exactly."""
    swap = await carol_swap(machine, devnet)
    after = await swap.pool_states(machine, swap.block)
    later = swap.block + 1
    while await swap.pool_states(machine, later) == after:
        later += 1
    refill = CallSpec.model_validate(
        {
            "from": devnet.history.address_of("deployer"),
            "to": swap.path[0],
            "data": "0x"
            + load_artifact("DemoToken").calldata("transfer", swap.carol, swap.amount_in).hex(),
        }
    )
    request = WhatIf(at_block=later, before=[refill])
    live = await machine.whatif(swap.tx, request)
    assert live.replayed.status == 0
    capsule = await machine.export_capsule(swap.tx, request)
    assert capsule.whatif is not None
    assert capsule.whatif.at_block == later
    assert capsule.block_env.number == later + 1
    assert [tx.hash for tx in capsule.transactions] == [None, swap.tx]
    offline = await replay_capsule_async(capsule)
    assert_same_run(offline, live)
    assert "INSUFFICIENT_OUTPUT_AMOUNT" in str(offline.trace.revert_reason)


async def test_a_plain_capsule_stays_version_1(devnet: Devnet, machine: TimeMachine) -> None:
    capsule = await machine.export_capsule(devnet.history.scenario("reentrancy-bank").exploit_tx)
    assert capsule.version == 1
    assert capsule.whatif is None
