"""Replays on a real devnet, checked against the original receipts and against `cast run`."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from eth_account import Account

from timemachine.catalog.devnet import actor_account
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models import ReplayResult

pytestmark = pytest.mark.integration

ETHER = 10**18
EXPLOIT_GAS = 626_377
EXPLOIT_FRAMES = 105  # attack, deposit, 51 withdraw/receive pairs, the final withdraw, the payout
GAS_LINE = re.compile(r"Gas used: (\d+)")


@pytest.fixture(scope="module")
async def exploit(devnet: Devnet, machine: TimeMachine) -> ReplayResult:
    return await machine.replay(devnet.history.scenario("reentrancy-bank").exploit_tx)


def cast_run(cast: Path, tx: str, rpc_url: str) -> tuple[int, list[tuple[str, str]]]:
    """`cast run`'s gas used and its call frames as (kind, target) in execution order."""
    text = subprocess.run(
        [str(cast), "run", tx, "-r", rpc_url], capture_output=True, text=True, check=True
    ).stdout
    arena = json.loads(
        subprocess.run(
            [str(cast), "run", tx, "-r", rpc_url, "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["arena"]
    frames = [(node["trace"]["kind"], node["trace"]["address"].lower()) for node in arena]
    match = GAS_LINE.search(text)
    assert match, text
    return int(match.group(1)), frames


def our_frames(result: ReplayResult) -> list[tuple[str, str]]:
    return [(frame.type, (frame.to or "").lower()) for _, frame in result.trace.walk()]


async def test_exploit_replay_is_exact(devnet: Devnet, exploit: ReplayResult) -> None:
    record = devnet.history.scenario("reentrancy-bank")
    assert exploit.fidelity.verdict == "exact"
    assert exploit.fidelity.differences == []
    assert exploit.fidelity.notes == []
    assert exploit.mode == "exact"
    assert (exploit.block_number, exploit.tx_index) == (record.block_number, 0)
    assert exploit.hardfork == "prague"
    assert exploit.chain_id == 31337
    assert exploit.original is not None
    assert exploit.original.gas_used == exploit.replayed.gas_used == EXPLOIT_GAS
    assert len(exploit.replayed.logs) == len(exploit.original.logs) == 53


async def test_exploit_matches_cast_run(
    devnet: Devnet, exploit: ReplayResult, cast_binary: Path
) -> None:
    cast_gas, cast_frames = cast_run(cast_binary, exploit.tx_hash, devnet.rpc_url)
    assert cast_gas == exploit.replayed.gas_used
    assert our_frames(exploit) == cast_frames
    assert len(cast_frames) == EXPLOIT_FRAMES


async def test_exploit_trace_is_decoded(devnet: Devnet, exploit: ReplayResult) -> None:
    labels = devnet.history.labels
    root = exploit.trace
    assert root.decoded is not None
    assert root.decoded.signature == "attack()"
    assert labels[root.to or ""] == "BankAttacker"
    assert root.gas_used == EXPLOIT_GAS
    names = [f.decoded.name if f.decoded else None for _, f in root.walk()]
    assert names.count("withdraw") == 51
    assert names.count(None) == 52  # 51 re-entrant receive() calls and the payout, no calldata
    # withdraw -> receive -> withdraw ... : 51 withdraw/receive pairs nested under attack()
    assert max(len(path) for path, _ in root.walk()) == 102
    events = [log.event.name for log in root.all_logs() if log.event]
    assert events == ["Deposited", *["Withdrawn"] * 51, "Drained"]


async def test_exploit_balance_changes_are_exact(devnet: Devnet, exploit: ReplayResult) -> None:
    history = devnet.history
    bank = history.address_of("EtherBank")
    mallory = history.address_of("mallory")
    async with RpcClient(devnet.rpc_url) as rpc:
        receipt = await rpc.call("eth_getTransactionReceipt", [exploit.tx_hash])
        bank_before = int(
            await rpc.call("eth_getBalance", [bank, hex(exploit.block_number - 1)]), 16
        )
        mallory_before = int(
            await rpc.call("eth_getBalance", [mallory, hex(exploit.block_number - 1)]), 16
        )
    fee = EXPLOIT_GAS * int(receipt["effectiveGasPrice"], 16)
    changes = {(c.address, c.asset): c for c in exploit.balance_changes}
    assert changes[(bank, "ETH")].delta == -50 * ETHER
    assert (changes[(bank, "ETH")].before, changes[(bank, "ETH")].after) == (bank_before, 0)
    assert changes[(mallory, "ETH")].delta == 50 * ETHER - fee
    assert changes[(mallory, "ETH")].before == mallory_before
    loot = [t for t in exploit.token_transfers if t.standard == "ETH" and t.to == mallory]
    assert [t.amount for t in loot] == [51 * ETHER]


async def test_compare_trace_matches_the_upstream_trace(
    devnet: Devnet, machine: TimeMachine
) -> None:
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    result = await machine.replay(tx, compare_trace=True)
    assert result.fidelity.trace_compared is True
    assert result.fidelity.verdict == "exact"


async def test_busy_block_replay_is_exact(
    devnet: Devnet, machine: TimeMachine, cast_binary: Path
) -> None:
    result = await machine.replay(devnet.history.busy_tx)
    assert result.tx_index == 21
    assert result.preceding_txs_replayed == 21
    assert result.fidelity.verdict == "exact", result.fidelity
    assert result.fidelity.notes == []
    cast_gas, cast_frames = cast_run(cast_binary, devnet.history.busy_tx, devnet.rpc_url)
    assert cast_gas == result.replayed.gas_used
    assert our_frames(result) == cast_frames
    erin = devnet.history.address_of("erin")
    withdrawn = [t.amount for t in result.token_transfers if t.to == erin]
    assert withdrawn == [6 * ETHER]


async def test_quick_mode_names_what_the_skipped_txs_changed(
    devnet: Devnet, machine: TimeMachine
) -> None:
    result = await machine.replay(devnet.history.busy_tx, mode="quick", compare_trace=True)
    assert result.preceding_txs_replayed == 0
    assert result.fidelity.verdict == "diverged"
    fields = [d.field for d in result.fidelity.differences]
    assert fields == ["logs[0].data", "trace.calls[0].value"]
    value = next(d for d in result.fidelity.differences if d.field == "trace.calls[0].value")
    assert (value.original, value.replayed) == (6 * ETHER, 1 * ETHER)
    assert result.fidelity.notes == [
        "quick mode: the 21 earlier transactions of block 7 were not replayed"
    ]


async def test_replay_many_runs_a_sequence_on_one_fork(
    devnet: Devnet, machine: TimeMachine
) -> None:
    record = devnet.history.scenario("reentrancy-bank")
    async with RpcClient(devnet.rpc_url) as rpc:
        deploy_block = await rpc.call("eth_getBlockByNumber", [hex(record.block_number - 1), False])
    deploy_tx = deploy_block["transactions"][0]
    results = await machine.replay_many([deploy_tx, record.exploit_tx])
    assert [r.tx_hash for r in results] == [deploy_tx, record.exploit_tx]
    assert [r.fidelity.verdict for r in results] == ["exact", "exact"]
    assert results[0].replayed.contract_address == record.attacker_contracts[0]
    assert results[1].replayed.gas_used == EXPLOIT_GAS


async def test_replay_many_rejects_out_of_order_lists(devnet: Devnet, machine: TimeMachine) -> None:
    from timemachine.errors import InvalidInputError

    record = devnet.history.scenario("reentrancy-bank")
    with pytest.raises(InvalidInputError, match="chain order"):
        await machine.replay_many([record.exploit_tx, devnet.history.busy_tx])


async def test_raw_transaction_runs_on_top_of_a_block(devnet: Devnet, machine: TimeMachine) -> None:
    alice = actor_account("alice")
    bob = devnet.history.address_of("bob")
    async with RpcClient(devnet.rpc_url) as rpc:
        nonce = int(await rpc.call("eth_getTransactionCount", [alice.address, "latest"]), 16)
    signed = Account.sign_transaction(
        {
            "chainId": 31337,
            "nonce": nonce,
            "to": bob,
            "value": 3 * ETHER,
            "gas": 21_000,
            "maxFeePerGas": 100 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "type": 2,
        },
        alice.key,
    )
    result = await machine.replay_raw("0x" + signed.raw_transaction.hex())
    assert result.fidelity.verdict == "unverified"
    assert result.original is None
    assert result.block_number == devnet.history.head_block + 1
    assert result.replayed.gas_used == 21_000
    changes = {(c.address, c.asset): c.delta for c in result.balance_changes}
    assert changes[(bob, "ETH")] == 3 * ETHER


async def test_raw_form_of_a_mined_tx_replays_the_mined_tx(
    devnet: Devnet, machine: TimeMachine
) -> None:
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    async with RpcClient(devnet.rpc_url) as rpc:
        raw = await rpc.call("eth_getRawTransactionByHash", [tx])
    result = await machine.replay_raw(raw)
    assert result.tx_hash == tx
    assert result.fidelity.verdict == "exact"


@pytest.mark.parametrize(
    "scenario_id",
    [
        "reentrancy-bank",
        "reentrancy-vault-shares",
        "unprotected-initializer",
        "signature-replay-cheque",
        "vault-deposit-withdraw",
        "cheque-cashed-once",
        "integer-overflow-token",
    ],
)
async def test_every_bundled_scenario_replays_exactly(
    machine: TimeMachine, devnet: Devnet, scenario_id: str
) -> None:
    record = devnet.history.scenario(scenario_id)
    result = await machine.replay(record.exploit_tx)
    assert result.fidelity.verdict == "exact", result.fidelity.differences
    assert (result.block_number, result.replayed.status) == (record.block_number, 1)


async def test_a_contract_created_earlier_in_the_block_is_not_seeded_as_already_there(
    devnet: Devnet, machine: TimeMachine
) -> None:
    """Regression: the prefetch seed took a contract's code from the block's second tx (after
    the first created it), so the replayed CREATE collided and reverted with all its gas."""
    block_number, created = await _block_whose_later_tx_sees_a_contract_created_by_its_first(
        machine, devnet.history.head_block
    )
    block = await machine.upstream.call("eth_getBlockByNumber", [hex(block_number), False])
    await machine.replay(devnet.history.scenarios[0].exploit_tx)  # warm the pool and gateway
    result = await machine.replay(block["transactions"][-1])
    assert result.fidelity.verdict == "exact"
    assert not [note for note in result.fidelity.notes if "diverged" in note], created


async def _block_whose_later_tx_sees_a_contract_created_by_its_first(
    machine: TimeMachine, head: int
) -> tuple[int, str]:
    for number in range(1, head + 1):
        block = await machine.upstream.call("eth_getBlockByNumber", [hex(number), False])
        if len(block["transactions"]) < 2:
            continue
        receipt = await machine.upstream.call(
            "eth_getTransactionReceipt", [block["transactions"][0]]
        )
        created = (receipt.get("contractAddress") or "").lower()
        if not created:
            continue
        traces = await machine.upstream.call(
            "debug_traceBlockByNumber", [hex(number), {"tracer": "prestateTracer"}]
        )
        later = {
            address.lower(): account for t in traces[1:] for address, account in t["result"].items()
        }
        if "code" in later.get(created, {}):
            return number, created
    pytest.fail("the devnet history has no such block any more")
