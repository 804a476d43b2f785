"""The generalization scenario set on its own devnet: staged in order, every ground truth exact.

Detection is deliberately not asserted here: the detectors are measured on this set, before any
tuning, by `benchmarks/detectors.py`. What is checked is what the set promises - each exploit's
losses and the attacker side's gain, per asset, re-measured here from the chain (balances at the
exploit block and its parent; every exploit tx is alone in its block) and compared with fixed
amounts, and each benign look-alike's representative tx mined and losing nobody anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from eth_abi.abi import encode as abi_encode

from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.generalization import GENERALIZATION_SCENARIOS
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet, run_devnet

pytestmark = pytest.mark.integration

E = 10**18
BALANCE_OF = "0x70a08231"
#: id -> (victims' losses, attacker side's gain before the gas fee); assets are "ETH" or the
#: label of a token in the devnet history.
GROUND_TRUTH: dict[str, tuple[dict[str, int], dict[str, int]]] = {
    "gen-proxy-unprotected-sweep": ({"ETH": 8 * E}, {"ETH": 8 * E}),
    "gen-uups-uninitialized": ({"ETH": 18 * E}, {"ETH": 18 * E}),
    "gen-read-only-reentrancy": ({"ETH": 50 * E}, {"ETH": 45 * E, "StablePool STB": -5 * E}),
    "gen-nft-hook-claim": ({"GenesisNft (ClaimDrop)": 18}, {"GenesisNft (ClaimDrop)": 18}),
    "gen-erc777-hook-reentrancy": ({"HookToken": 90 * E}, {"HookToken": 90 * E}),
    "gen-erc3156-deposit-repay": ({"WrappedEther": 22 * E}, {"WrappedEther": 22 * E}),
    "gen-cross-contract-reentrancy": ({"ETH": 90 * E}, {"ETH": 90 * E}),
    # 300 ETH buy 74,962.4 RSV; 5,000 pledged, the rest sold back for 274.27 ETH; 40 ETH borrowed
    "gen-own-capital-pump": ({"ETH": 40 * E}, {"ETH": 34_265_926_191_563_205_985}),
    "gen-clone-vault-donation": ({"WrappedEther": 20 * E + 1}, {"WrappedEther": 20 * E + 1}),
    "gen-unchecked-underflow": ({"ETH": 13 * E}, {"ETH": 13 * E}),
    # the 20 ETH reserve less the rewards alice (10 ETH x 12 s) and carol (4 ETH x 24 s) claimed
    "gen-reward-checkpoint-skip": ({"ETH": 20 * E - 216 * 10**12}, {"ETH": 20 * E - 216 * 10**12}),
    "gen-voucher-cross-desk-replay": ({"ETH": 20 * E}, {"ETH": 20 * E}),
    "gen-hub-arbitrary-call": ({"WrappedEther": 10 * E}, {"WrappedEther": 10 * E}),
    "gen-open-feed-setter": ({"ETH": 29 * E + E // 2}, {"ETH": 29 * E + E // 2}),
    "gen-ownership-two-step": ({"ETH": 15 * E}, {"ETH": 15 * E}),
    "gen-vote-recycling": ({"ETH": 25 * E}, {"ETH": 25 * E}),
}
BENIGN = [s.id for s in GENERALIZATION_SCENARIOS if s.benign]


@pytest.fixture(scope="module")
async def generalization(anvil_binary: Path) -> AsyncIterator[Devnet]:
    async with run_devnet(scenarios=GENERALIZATION_SCENARIOS) as net:
        yield net


@pytest.fixture(scope="module")
async def rpc(generalization: Devnet) -> AsyncIterator[RpcClient]:
    async with RpcClient(generalization.rpc_url) as client:
        yield client


async def _holding(rpc: RpcClient, asset: str, holder: str, block: int) -> int:
    if asset == "ETH":
        return int(await rpc.call("eth_getBalance", [holder, hex(block)]), 16)
    data = BALANCE_OF + abi_encode(["address"], [holder]).hex()
    return int(await rpc.call("eth_call", [{"to": asset, "data": data}, hex(block)]), 16)


async def _change(rpc: RpcClient, asset: str, holders: list[str], block: int) -> int:
    """The summed change of `holders`' balance of `asset` over `block`."""
    return sum(
        [
            await _holding(rpc, asset, holder, block)
            - await _holding(rpc, asset, holder, block - 1)
            for holder in holders
        ]
    )


async def _fee(rpc: RpcClient, record: ScenarioRecord) -> int:
    receipt = await rpc.call("eth_getTransactionReceipt", [record.exploit_tx])
    assert int(receipt["status"], 16) == 1
    block = await rpc.call("eth_getBlockByNumber", [hex(record.block_number), False])
    assert block["transactions"] == [record.exploit_tx]
    return int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)


def test_the_set_is_staged_in_order_with_its_classes(generalization: Devnet) -> None:
    records = generalization.history.scenarios
    assert [(r.id, r.vulnerability_class, r.benign) for r in records] == [
        (s.id, s.vulnerability_class, s.benign) for s in GENERALIZATION_SCENARIOS
    ]
    assert sorted(GROUND_TRUTH) == sorted(r.id for r in records if not r.benign)
    assert len(GROUND_TRUTH) >= 12
    assert len(BENIGN) >= 8


@pytest.mark.parametrize("scenario_id", sorted(GROUND_TRUTH))
async def test_exploit_ground_truth_is_exact(
    generalization: Devnet, rpc: RpcClient, scenario_id: str
) -> None:
    history = generalization.history
    record = history.scenario(scenario_id)
    losses, gains = GROUND_TRUTH[scenario_id]
    fee = await _fee(rpc, record)

    def asset(name: str) -> str:
        return "ETH" if name == "ETH" else history.address_of(name).lower()

    expected_losses = {asset(name): amount for name, amount in losses.items()}
    expected_profit = {asset(name): amount for name, amount in gains.items()}
    expected_profit["ETH"] = expected_profit.get("ETH", 0) - fee
    assert record.expected_losses == expected_losses
    assert record.expected_profit == expected_profit

    attackers = [record.attacker, *record.attacker_contracts]
    for name, amount in expected_losses.items():
        assert await _change(rpc, name, record.victims, record.block_number) == -amount
    for name, amount in expected_profit.items():
        assert await _change(rpc, name, attackers, record.block_number) == amount


@pytest.mark.parametrize("scenario_id", BENIGN)
async def test_benign_look_alike_is_an_honest_mined_tx(
    generalization: Devnet, rpc: RpcClient, scenario_id: str
) -> None:
    record = generalization.history.scenario(scenario_id)
    await _fee(rpc, record)
    assert (record.vulnerability_class, record.victims) == ("none", [])
    assert (record.expected_losses, record.expected_profit) == ({}, {})
    tx = await rpc.call("eth_getTransactionByHash", [record.exploit_tx])
    assert tx["from"].lower() == record.attacker.lower()
