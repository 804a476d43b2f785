"""Fix verification on every bundled exploit, what-if replays, and the run comparison.

Addresses and hashes come from the devnet history (records and labels), never typed in.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode as abi_decode

from timemachine.catalog.artifacts import load_artifact
from timemachine.catalog.scenarios import SCENARIOS, get_scenario
from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.whatif import AccountOverride, CallSpec, CodePatch, WhatIf

from .test_cli import timemachine

pytestmark = pytest.mark.integration

EXPLOITS = [scenario.id for scenario in SCENARIOS if not scenario.benign]
CONTRACTS = Path(__file__).resolve().parents[2] / "src/timemachine/catalog/scenarios/contracts"


def fix_patch(devnet: Devnet, scenario_id: str) -> CodePatch:
    fix = get_scenario(scenario_id).fix
    assert fix is not None
    return CodePatch(
        address=devnet.history.address_of(fix.contract),
        artifact=fix.artifact,
        constructor_args=list(fix.constructor_args) if fix.constructor_args else None,
    )


def test_every_exploit_scenario_has_a_fix() -> None:
    assert len(EXPLOITS) == 10
    for scenario in SCENARIOS:
        assert (scenario.fix is None) == scenario.benign, scenario.id
        if scenario.fix is not None:
            artifact = load_artifact(scenario.fix.artifact)
            assert artifact.source_name == f"{scenario.fix.artifact}.sol"


@pytest.mark.parametrize("scenario_id", EXPLOITS)
async def test_fixed_contract_stops_the_exploit(
    machine: TimeMachine, devnet: Devnet, scenario_id: str
) -> None:
    record = devnet.history.scenario(scenario_id)
    verification = await machine.verify_fix(record.exploit_tx, [fix_patch(devnet, scenario_id)])

    # Unpatched, the replay still shows the full ground truth: every asset of profit and loss.
    assert verification.original_status == 1
    for asset, amount in record.expected_profit.items():
        assert verification.original_profit.net(asset) == amount, asset
    for asset, amount in record.expected_losses.items():
        assert verification.original_profit.loss(asset) == amount, asset
    # Patched, the exploit is stopped: it reverts, or the attacker side gains no asset at all.
    assert verification.stopped, verification.reason
    assert verification.verdict == "stopped"
    gains = {row.asset: row for row in verification.profit_difference}
    assert set(gains) >= set(record.expected_profit)
    for row in verification.profit_difference:
        assert row.patched <= 0, (row.asset, row.patched)
        assert row.difference == row.patched - row.original
    if verification.patched_status == 0:
        assert verification.patched_revert_reason
        assert verification.patched_loss == []  # a reverted tx takes nothing from anybody
        for row in verification.profit_difference:
            if row.asset != "ETH":
                assert row.patched == 0  # only the gas fee is paid
    for asset, amount in record.expected_profit.items():
        if amount > 0:
            assert gains[asset].difference <= -amount


async def test_verify_fix_cli_compiles_a_solidity_patch(devnet: Devnet) -> None:
    record = devnet.history.scenario("reentrancy-bank")
    bank = devnet.history.address_of("EtherBank")
    run = timemachine(
        "verify-fix",
        record.exploit_tx,
        "--patch",
        f"{bank}={CONTRACTS / 'EtherBankFixed.sol'}:EtherBankFixed",
        "--rpc-url",
        devnet.rpc_url,
        "--json",
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["verdict"] == "stopped"
    assert result["patched_status"] == 0
    assert result["original_profit"]["net_gain"] == [
        {"asset": "ETH", "amount": record.expected_profit["ETH"]}
    ]
    # The unpatched code is not a fix: same command, the vulnerable source, exit 1.
    run = timemachine(
        "verify-fix",
        record.exploit_tx,
        "--patch",
        f"{bank}={CONTRACTS / 'EtherBank.sol'}",
        "--rpc-url",
        devnet.rpc_url,
        "--json",
    )
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout)["verdict"] == "still exploitable"


def test_verify_fix_cli_by_scenario_id() -> None:
    run = timemachine("verify-fix", "--scenario", "unprotected-initializer")
    assert run.returncode == 0, run.stderr
    assert "STOPPED" in run.stdout
    assert "already initialized" in run.stdout


# ----------------------------------------------------------------- the time-shifted benign swap


def v2_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Uniswap V2's getAmountOut (0.3% fee)."""
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


async def reserves(machine: TimeMachine, pair: str, block: int) -> tuple[int, int, str]:
    """(reserve0, reserve1, token0) of `pair` at the end of `block`."""
    artifact = load_artifact("SwapPair")
    tag = hex(block)
    raw, token0 = await machine.upstream.batch(
        [
            (
                "eth_call",
                [{"to": pair, "data": "0x" + artifact.calldata("getReserves").hex()}, tag],
            ),
            (
                "eth_call",
                [{"to": pair, "data": "0x" + artifact.calldata("token0").hex()}, "latest"],
            ),
        ]
    )
    r0, r1, _ = artifact.decode_output("getReserves", 0, bytes.fromhex(raw[2:]))
    return int(r0), int(r1), "0x" + str(token0)[-40:]


def oriented(state: tuple[int, int, str], token_in: str) -> tuple[int, int]:
    r0, r1, token0 = state
    return (r0, r1) if token0.lower() == token_in.lower() else (r1, r0)


@dataclass(frozen=True)
class CarolSwap:
    """carol's two-hop DEMO -> WETH -> USDX swap (the amm-swaps control) and its pools."""

    tx: str
    block: int
    carol: str
    amount_in: int
    min_out: int
    path: list[str]
    pairs: list[str]

    async def pool_states(self, machine: TimeMachine, block: int) -> list[tuple[int, int]]:
        """(reserve in, reserve out) of each hop at the end of `block`."""
        return [
            oriented(await reserves(machine, pair, block), self.path[i])
            for i, pair in enumerate(self.pairs)
        ]

    def expected(self, states: list[tuple[int, int]]) -> list[int]:
        """Each hop's output by the V2 formula from `states`."""
        outs, amount = [], self.amount_in
        for reserve_in, reserve_out in states:
            amount = v2_out(amount, reserve_in, reserve_out)
            outs.append(amount)
        return outs


async def carol_swap(machine: TimeMachine, devnet: Devnet) -> CarolSwap:
    history = devnet.history
    record = history.scenario("amm-swaps")
    tx = await machine.upstream.call("eth_getTransactionByHash", [record.exploit_tx])
    amount_in, min_out, path, _, _ = abi_decode(
        ["uint256", "uint256", "address[]", "address", "uint256"], bytes.fromhex(tx["input"][10:])
    )
    return CarolSwap(
        tx=record.exploit_tx,
        block=record.block_number,
        carol=record.attacker,
        amount_in=amount_in,
        min_out=min_out,
        path=list(path),
        pairs=[history.address_of("SwapPair DEMO/WETH"), history.address_of("SwapPair WETH/USDX")],
    )


async def test_time_shifted_swap_price_matches_the_pool_reserves(
    machine: TimeMachine, devnet: Devnet
) -> None:
    """The swap at its parent block (before alice's and bob's swaps of the same block moved
    WETH/USDX): each hop's execution price, the price difference and the PnL in USDX are what
    the V2 formula gives from the reserves read at the two blocks."""
    swap = await carol_swap(machine, devnet)
    path = swap.path
    decimals = {path[0].lower(): 18, path[1].lower(): 18, path[2].lower(): 6}
    block = swap.block - 1
    shifted_out = swap.expected(await swap.pool_states(machine, block))
    assert shifted_out[-1] >= swap.min_out
    comparison = await machine.compare(swap.tx, WhatIf(at_block=block))
    assert comparison.status.right == 1
    assert len(comparison.swaps) == 2

    # Original: carol's swap was the last one through both pools in its block, so the reserves
    # it met are the end-of-block reserves with its own swap taken out.
    original_out: list[int] = []
    amount = swap.amount_in
    after = await swap.pool_states(machine, swap.block)
    for (reserve_in, reserve_out), hop in zip(after, comparison.swaps, strict=True):
        assert hop.left is not None
        out = hop.left.amount_out
        assert v2_out(amount, reserve_in - amount, reserve_out + out) == out
        original_out.append(out)
        amount = out

    hops = list(itertools.pairwise(path))
    amounts_in = [swap.amount_in, original_out[0]], [swap.amount_in, shifted_out[0]]
    for n, hop in enumerate(comparison.swaps):
        assert hop.left is not None
        assert hop.right is not None
        assert hop.pair == swap.pairs[n].lower()
        assert (hop.token_in, hop.token_out) == (hops[n][0].lower(), hops[n][1].lower())
        assert hop.right.amount_in == amounts_in[1][n]
        assert hop.right.amount_out == shifted_out[n]
        scale = 10 ** decimals[hops[n][0].lower()] / 10 ** decimals[hops[n][1].lower()]
        left_price = original_out[n] * scale / amounts_in[0][n]
        right_price = shifted_out[n] * scale / amounts_in[1][n]
        assert hop.left.price == pytest.approx(left_price, rel=1e-12)
        assert hop.right.price == pytest.approx(right_price, rel=1e-12)
        assert hop.price_diff_pct == pytest.approx((right_price / left_price - 1) * 100)
        assert hop.amount_out_diff == shifted_out[n] - original_out[n]
    assert comparison.swaps[-1].price_diff_pct != 0
    # PnL in the bought token (USDX) is carol's balance difference between the two runs.
    usdx = [
        row.difference
        for row in comparison.balances or []
        if row.address.lower() == swap.carol.lower() and row.asset.lower() == path[2].lower()
    ]
    assert usdx == [shifted_out[-1] - original_out[-1]]


async def test_later_block_swap_fails_its_slippage_limit_as_the_reserves_predict(
    machine: TimeMachine, devnet: Devnet
) -> None:
    """Later blocks: the DEMO/WETH pool never recovers from carol's own sale, so at the first
    later block where the pools differ the formula gives less than her 1% slippage limit, and
    the time-shifted swap reverts as it predicts. A transfer inserted before it gives her the
    4,000 DEMO she sold, so only the price can stop it."""
    swap = await carol_swap(machine, devnet)
    after = await swap.pool_states(machine, swap.block)
    later = swap.block + 1
    while await swap.pool_states(machine, later) == after:
        later += 1
    assert later <= devnet.history.head_block
    assert swap.expected(await swap.pool_states(machine, later))[-1] < swap.min_out
    token = load_artifact("DemoToken")
    refill = CallSpec.model_validate(
        {
            "from": devnet.history.address_of("deployer"),
            "to": swap.path[0],
            "data": "0x" + token.calldata("transfer", swap.carol, swap.amount_in).hex(),
        }
    )
    comparison = await machine.compare(swap.tx, WhatIf(at_block=later, before=[refill]))
    assert comparison.status.right == 0
    assert "INSUFFICIENT_OUTPUT_AMOUNT" in str(comparison.revert_reason.right)
    assert [hop.right for hop in comparison.swaps] == [None, None]


# ----------------------------------------------------------------- other what-ifs


async def test_plain_compare_of_an_exact_replay_is_identical(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario("reentrancy-bank")
    comparison = await machine.compare(record.exploit_tx)
    assert (comparison.left, comparison.right) == ("original", "replay")
    assert not comparison.status.changed
    assert comparison.gas_difference == 0
    assert comparison.logs == []
    assert comparison.balances is None  # an original receipt has no balance changes


async def test_storage_balance_and_sender_overrides(machine: TimeMachine, devnet: Devnet) -> None:
    history = devnet.history
    record = history.scenario("unprotected-initializer")
    wallet = history.address_of("TreasuryWallet")
    loot = record.expected_losses["ETH"]

    # An empty treasury (balance override): the hijack runs and takes nothing.
    result = await machine.whatif(
        record.exploit_tx, WhatIf(overrides=[AccountOverride(address=wallet, balance=0)])
    )
    moved = [c.delta for c in result.balance_changes if c.address == wallet and c.asset == "ETH"]
    assert moved in ([], [0])
    assert result.replayed.status == 1

    # The fixed code stops the exploit; clearing its `initialized` flag (slot 0, byte 20, packed
    # after `owner`) with a storage override opens it again: the whole treasury is lost.
    slot0 = await machine.upstream.call(
        "eth_getStorageAt", [wallet, "0x0", hex(record.block_number - 1)]
    )
    word = int(slot0, 16)
    assert word >> 160 == 1  # initialized
    patch = fix_patch(devnet, "unprotected-initializer")
    reopened = WhatIf(
        patches=[patch],
        overrides=[AccountOverride(address=wallet, storage={"0x0": hex(word & (2**160 - 1))})],
    )
    comparison = await machine.compare(record.exploit_tx, reopened)
    assert (comparison.status.left, comparison.status.right) == (1, 1)
    assert comparison.profit is not None
    eth = next(row for row in comparison.profit if row.asset == "ETH")
    assert eth.left == record.expected_profit["ETH"]
    assert eth.right > loot - 10**16  # the loot, less a gas fee of another size
    assert comparison.findings == []  # same classes at the same severities

    # Another sender (impersonated): the attacker contract only obeys its owner.
    dave = history.address_of("dave")
    as_dave = await machine.whatif(record.exploit_tx, WhatIf(sender=dave))
    assert as_dave.sender == dave
    assert as_dave.replayed.status == 0
    assert as_dave.fidelity.verdict == "diverged"
    assert any("impersonated" in note for note in as_dave.fidelity.notes)


async def test_drop_an_earlier_transaction_of_the_block(
    machine: TimeMachine, devnet: Devnet
) -> None:
    history = devnet.history
    block = await machine.upstream.call("eth_getBlockByNumber", [hex(history.busy_block), False])
    hashes: list[Any] = block["transactions"]
    target = history.busy_tx
    earlier = hashes[: hashes.index(target)]
    assert earlier
    result = await machine.whatif(target, WhatIf(drop=[earlier[0]]))
    assert result.preceding_txs_replayed == len(earlier) - 1
    assert any(f"{earlier[0]} left out" in note for note in result.fidelity.notes)


async def test_move_an_earlier_transaction_right_before_the_target(
    machine: TimeMachine, devnet: Devnet
) -> None:
    history = devnet.history
    block = await machine.upstream.call("eth_getBlockByNumber", [hex(history.busy_block), False])
    hashes: list[Any] = block["transactions"]
    earlier = hashes[: hashes.index(history.busy_tx)]
    moved = await machine.whatif(history.busy_tx, WhatIf(drop=[earlier[0]], before=[earlier[0]]))
    assert moved.preceding_txs_replayed == len(earlier)
    assert moved.replayed.status == 1
    assert any(f"inserted before the target: {earlier[0]}" in n for n in moved.fidelity.notes)
