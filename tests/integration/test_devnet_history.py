"""The devnet history is deterministic and contains the drained bank and the busy block."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from timemachine.catalog.artifacts import load_artifact
from timemachine.catalog.devnet import DEVNET_ANVIL_ARGS
from timemachine.catalog.models import DevnetHistory
from timemachine.catalog.scenarios import SCENARIOS, get_scenario
from timemachine.catalog.scenarios.history import build_history
from timemachine.chain.rpc import RpcClient
from timemachine.errors import DevnetBuildError, NotFoundError
from timemachine.forks.process import AnvilProcess

pytestmark = pytest.mark.integration

ETHER = 10**18


@dataclass
class Built:
    rpc: RpcClient
    history: DevnetHistory

    async def call(self, method: str, *params: Any) -> Any:
        return await self.rpc.call(method, params)

    async def balance(self, address: str, block: int) -> int:
        return int(await self.call("eth_getBalance", address, hex(block)), 16)


@contextlib.asynccontextmanager
async def _fresh_anvil(binary: Path) -> AsyncIterator[RpcClient]:
    """A fresh devnet anvil on a free port; stopped on exit whatever happens."""
    process = await AnvilProcess.start(binary, DEVNET_ANVIL_ARGS)
    try:
        async with RpcClient(process.url, retries=0, timeout=10) as rpc:
            yield rpc
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def built(anvil_binary: Path) -> AsyncIterator[tuple[Built, Built]]:
    """The history built on two separate fresh anvils."""
    async with _fresh_anvil(anvil_binary) as first, _fresh_anvil(anvil_binary) as second:
        histories = await asyncio.gather(build_history(first), build_history(second))
        yield Built(first, histories[0]), Built(second, histories[1])


async def _chain_contents(net: Built) -> list[tuple[int, str, list[str]]]:
    blocks = await net.rpc.batch(
        [("eth_getBlockByNumber", [hex(n), False]) for n in range(net.history.head_block + 1)]
    )
    return [(int(b["number"], 16), b["hash"], b["transactions"]) for b in blocks]


async def test_history_is_deterministic(built: tuple[Built, Built]) -> None:
    first, second = built
    assert first.history == second.history
    assert await _chain_contents(first) == await _chain_contents(second)
    contents = await _chain_contents(first)
    assert sum(len(txs) for _, _, txs in contents) == first.history.transactions


async def test_exploit_drains_the_bank(built: tuple[Built, Built]) -> None:
    net = built[0]
    record = net.history.scenario("reentrancy-bank")
    assert record.vulnerability_class == "reentrancy"
    assert get_scenario("reentrancy-bank").title == record.title
    [bank] = record.victims
    [attacker_contract] = record.attacker_contracts
    block = record.block_number
    labels = net.history.labels
    assert (labels[bank], labels[attacker_contract], labels[record.attacker]) == (
        "EtherBank",
        "BankAttacker",
        "mallory",
    )
    assert record.expected_losses == {"ETH": 50 * ETHER}
    assert await net.balance(bank, block - 1) == 50 * ETHER
    assert await net.balance(bank, block) == 0

    receipt = await net.call("eth_getTransactionReceipt", record.exploit_tx)
    assert int(receipt["status"], 16) == 1
    assert int(receipt["blockNumber"], 16) == block
    assert receipt["from"].lower() == record.attacker.lower()
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    profit = await net.balance(record.attacker, block) - await net.balance(
        record.attacker, block - 1
    )
    assert profit == 50 * ETHER - fee
    # the attacker contract already existed one block earlier
    assert await net.call("eth_getCode", attacker_contract, hex(block - 1)) != "0x"

    bank_logs = [log for log in receipt["logs"] if log["address"].lower() == bank.lower()]
    assert len(bank_logs) == 1 + 51  # the stake's Deposited, then one Withdrawn per frame
    frames = await net.call("debug_traceTransaction", record.exploit_tx, {"tracer": "callTracer"})
    assert _depth(frames) >= 10  # nested re-entrant frames: attacker -> bank -> attacker -> ...


def _depth(frame: dict[str, Any]) -> int:
    return 1 + max((_depth(child) for child in frame.get("calls", [])), default=0)


async def test_busy_block_has_a_dependent_tx(built: tuple[Built, Built]) -> None:
    net = built[0]
    history = net.history
    block = await net.call("eth_getBlockByNumber", hex(history.busy_block), False)
    assert len(block["transactions"]) >= 25
    index = block["transactions"].index(history.busy_tx)
    assert index >= 20
    senders = {
        tx["from"]
        for tx in (await net.call("eth_getBlockByNumber", hex(history.busy_block), True))[
            "transactions"
        ]
    }
    assert len(senders) >= 5

    # erin's withdrawAll pays out what two earlier txs of the same block credited her
    bank = load_artifact("EtherBank")
    erin = history.address_of("erin")
    call = {
        "to": history.address_of("EtherBank"),
        "data": "0x" + bank.calldata("balances", erin).hex(),
    }
    before_block = int(await net.call("eth_call", call, hex(history.busy_block - 1)), 16)
    receipt = await net.call("eth_getTransactionReceipt", history.busy_tx)
    withdrawn = int(receipt["logs"][-1]["data"], 16)
    assert (before_block, withdrawn) == (1 * ETHER, 6 * ETHER)


async def test_refuses_a_used_chain(built: tuple[Built, Built]) -> None:
    with pytest.raises(DevnetBuildError, match="fresh anvil"):
        await build_history(built[0].rpc)


def test_unknown_scenario_lists_known_ones() -> None:
    with pytest.raises(NotFoundError, match="reentrancy-bank"):
        get_scenario("no-such-scenario")


async def _outcome(net: Built, tx: str, who: str) -> tuple[int, int, int]:
    """(status, fee, balance change of `who`) of `tx`, from its receipt and the chain."""
    receipt = await net.call("eth_getTransactionReceipt", tx)
    block = int(receipt["blockNumber"], 16)
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    delta = await net.balance(who, block) - await net.balance(who, block - 1)
    assert receipt["from"].lower() == who.lower()
    return int(receipt["status"], 16), fee, delta


def test_history_shape(built: tuple[Built, Built]) -> None:
    history = built[0].history
    assert [r.id for r in history.scenarios] == [scenario.id for scenario in SCENARIOS]
    first_seven = history.scenarios[:7]  # later scenarios are appended; these never move
    assert [(r.id, r.block_number, r.vulnerability_class, r.benign) for r in first_seven] == [
        ("reentrancy-bank", 9, "reentrancy", False),
        ("reentrancy-vault-shares", 14, "reentrancy", False),
        ("unprotected-initializer", 18, "access_control", False),
        ("signature-replay-cheque", 22, "signature_replay", False),
        ("vault-deposit-withdraw", 25, "none", True),
        ("cheque-cashed-once", 28, "none", True),
        ("integer-overflow-token", 31, "integer_overflow", False),
    ]
    assert history.busy_block == 7
    assert history.head_block == history.scenarios[-1].block_number
    assert [r.exploit_tx for r in first_seven] == [
        "0x32ce52539f3e98ce4e8ab8db7d477d1d9803276f9ce5ee3f2f6696e36f5ebe8f",
        "0x61f25f8381b95f94f0565116b4e5716a6a8c07c1944e43651365f48dd574dfe6",
        "0x118eaa058f8441fbfe0010cc9c6ccc855357b5a40f3d8820d33dac255148eccd",
        "0x36d232919ecb62a79aafb84623c6800faeb691f47285c66476a07ffbbfb58664",
        "0x1e385351a4564ff94e4747aec45787556bf3b6d0d304b35ec07604c19354b68c",
        "0xc2b621949ceb40074de8d77bbacebc008526b5c6d07b9e63ab4f7bf03838abc5",
        "0x4d4b6f173332e963469165a858436ac9553a266c8c06d55cc0c92ac09615aba4",
    ]


async def test_cross_function_reentrancy_drains_the_share_vault(
    built: tuple[Built, Built],
) -> None:
    net = built[0]
    record = net.history.scenario("reentrancy-vault-shares")
    labels = net.history.labels
    [vault] = record.victims
    assert labels[vault] == "ShareVault"
    assert [labels[c] for c in record.attacker_contracts] == ["VaultRaider", "VaultRaiderPartner"]
    assert labels[record.attacker] == "mallory"
    block = record.block_number
    assert record.expected_losses == {"ETH": 20 * ETHER}
    assert (await net.balance(vault, block - 1), await net.balance(vault, block)) == (20 * ETHER, 0)
    assert await _outcome(net, record.exploit_tx, record.attacker) == (
        1,
        277_728_784_339_501,
        20 * ETHER - 277_728_784_339_501,
    )
    receipt = await net.call("eth_getTransactionReceipt", record.exploit_tx)
    vault_logs = [log for log in receipt["logs"] if log["address"].lower() == vault.lower()]
    # the stake's Deposited, 5 Redeemed (one per payout) and 4 SharesTransferred (hand-overs)
    assert len(vault_logs) == 1 + 5 + 4


async def test_unprotected_initializer_empties_the_treasury(built: tuple[Built, Built]) -> None:
    net = built[0]
    record = net.history.scenario("unprotected-initializer")
    labels = net.history.labels
    [wallet] = record.victims
    [hijacker] = record.attacker_contracts
    assert (labels[wallet], labels[hijacker], labels[record.attacker]) == (
        "TreasuryWallet",
        "WalletHijacker",
        "mallory",
    )
    block = record.block_number
    assert record.expected_losses == {"ETH": 22 * ETHER}
    assert (await net.balance(wallet, block - 1), await net.balance(wallet, block)) == (
        22 * ETHER,
        0,
    )
    assert await _outcome(net, record.exploit_tx, record.attacker) == (
        1,
        47_118_696_370_746,
        22 * ETHER - 47_118_696_370_746,
    )
    owner = load_artifact("TreasuryWallet").calldata("owner")
    call = {"to": wallet, "data": "0x" + owner.hex()}
    before, after = [
        "0x" + (await net.call("eth_call", call, hex(n)))[-40:] for n in (block - 1, block)
    ]
    assert before.lower() == net.history.address_of("deployer").lower()
    assert after.lower() == hijacker.lower()


async def test_signature_replay_empties_the_signer_account(built: tuple[Built, Built]) -> None:
    net = built[0]
    record = net.history.scenario("signature-replay-cheque")
    labels = net.history.labels
    [bank] = record.victims
    [replayer] = record.attacker_contracts
    assert (labels[bank], labels[replayer], labels[record.attacker]) == (
        "ChequeBank",
        "ChequeReplayer",
        "mallory",
    )
    block = record.block_number
    assert record.expected_losses == {"ETH": 8 * ETHER}
    assert (await net.balance(bank, block - 1), await net.balance(bank, block)) == (
        18 * ETHER,
        10 * ETHER,
    )
    assert await _outcome(net, record.exploit_tx, record.attacker) == (
        1,
        99_891_391_514_928,
        8 * ETHER - 99_891_391_514_928,
    )
    receipt = await net.call("eth_getTransactionReceipt", record.exploit_tx)
    cashed = [log for log in receipt["logs"] if log["address"].lower() == bank.lower()]
    assert len(cashed) == 4  # the same 2 ETH cheque, four times
    alice = net.history.address_of("alice")
    call = {
        "to": bank,
        "data": "0x" + load_artifact("ChequeBank").calldata("balanceOf", alice).hex(),
    }
    assert int(await net.call("eth_call", call, hex(block)), 16) == 0


async def test_benign_controls_move_only_what_they_should(built: tuple[Built, Built]) -> None:
    net = built[0]
    vault = net.history.scenario("vault-deposit-withdraw")
    cheque = net.history.scenario("cheque-cashed-once")
    for record in (vault, cheque):
        assert (record.benign, record.expected_losses) == (True, {})
        assert (record.victims, record.attacker_contracts) == ([], [])
    assert net.history.labels[vault.attacker] == "bob"
    assert await _outcome(net, vault.exploit_tx, vault.attacker) == (
        1,
        44_593_129_070_016,
        3 * ETHER - 44_593_129_070_016,
    )
    guarded = net.history.address_of("GuardedVault")
    assert await net.balance(guarded, vault.block_number) == 10 * ETHER

    assert net.history.labels[cheque.attacker] == "frank"
    assert await _outcome(net, cheque.exploit_tx, cheque.attacker) == (
        1,
        67_657_141_636_200,
        ETHER * 3 // 2 - 67_657_141_636_200,
    )
    bank = net.history.address_of("NonceChequeBank")
    assert await net.balance(bank, cheque.block_number) == 12 * ETHER - ETHER * 3 // 2


async def test_batch_transfer_overflow_drains_the_token_reserve(
    built: tuple[Built, Built],
) -> None:
    net = built[0]
    record = net.history.scenario("integer-overflow-token")
    labels = net.history.labels
    [token] = record.victims
    [drainer, minter] = record.attacker_contracts
    assert (labels[token], labels[drainer], labels[minter], labels[record.attacker]) == (
        "BatchToken",
        "BatchDrainer",
        "BatchMinter",
        "mallory",
    )
    block = record.block_number
    assert record.expected_losses == {"ETH": 10 * ETHER}
    assert (await net.balance(token, block - 1), await net.balance(token, block)) == (
        10 * ETHER,
        0,
    )
    assert await _outcome(net, record.exploit_tx, record.attacker) == (
        1,
        137_259_092_806_110,
        10 * ETHER - 137_259_092_806_110,
    )
    artifact = load_artifact("BatchToken")
    assert artifact.compiler["version"].startswith("0.7.6+")

    async def read(function: str, *args: object) -> int:
        call = {"to": token, "data": "0x" + artifact.calldata(function, *args).hex()}
        return int(await net.call("eth_call", call, hex(block)), 16)

    # 2 * 2**255 wrapped to 0: each receiver was credited 2**255 BATCH out of nothing
    assert await read("balanceOf", record.attacker) == 2**255
    assert await read("balanceOf", drainer) == 2**255 - 10_000 * 10**18
    assert await read("totalSupply") == 0


def test_the_registry_knows_the_devnet_markets_pair_factory(built: tuple[Built, Built]) -> None:
    from timemachine.chain.registry import DEVNET_CHAIN_ID, get_chain

    factory = built[0].history.address_of("PairFactory")
    assert get_chain(DEVNET_CHAIN_ID).v2_factories == (factory,)
