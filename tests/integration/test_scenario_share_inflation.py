"""Scenario `vault-donation-inflation`: exact amounts on chain and the share-inflation finding."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass

pytestmark = pytest.mark.integration

USD = 10**6
TREASURY = 50_000 * USD
BALANCE_OF = "0x70a08231"
TOTAL_SUPPLY = "0x18160ddd"


async def _uint(machine: TimeMachine, contract: str, data: str, block: int) -> int:
    raw = await machine.upstream.call("eth_call", [{"to": contract, "data": data}, hex(block)])
    return int(raw, 16)


async def _balance(machine: TimeMachine, token: str, holder: str, block: int) -> int:
    data = BALANCE_OF + abi_encode(["address"], [holder]).hex()
    return await _uint(machine, token, data, block)


async def test_the_donation_attack_moves_the_treasury_to_mallory(
    machine: TimeMachine, devnet: Devnet
) -> None:
    history = devnet.history
    record = history.scenario("vault-donation-inflation")
    usdx = history.address_of("MarketToken")
    vault = history.address_of("YieldVault")
    allocator = history.address_of("TreasuryAllocator")
    attacker = history.address_of("InflationAttacker")
    mallory = history.address_of("mallory")
    block = record.block_number
    assert (record.attacker, record.attacker_contracts, record.victims) == (
        mallory,
        [attacker],
        [allocator],
    )

    # Before: the vault is empty (honest users exited in full), the allocator holds 50,000 USDX.
    assert await _uint(machine, vault, TOTAL_SUPPLY, block - 1) == 0
    assert await _balance(machine, usdx, vault, block - 1) == 0
    assert await _balance(machine, usdx, allocator, block - 1) == TREASURY
    # After: all of it is mallory's, the allocator holds no shares, the vault is empty again.
    assert await _balance(machine, usdx, allocator, block) == 0
    assert await _balance(machine, vault, allocator, block) == 0
    assert await _uint(machine, vault, TOTAL_SUPPLY, block) == 0
    assert await _balance(machine, usdx, vault, block) == 0
    gained = await _balance(machine, usdx, mallory, block) - await _balance(
        machine, usdx, mallory, block - 1
    )
    assert gained == TREASURY

    receipt = await machine.upstream.call("eth_getTransactionReceipt", [record.exploit_tx])
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    assert record.expected_losses == {usdx.lower(): TREASURY}
    assert record.expected_profit == {usdx.lower(): TREASURY, "ETH": -fee}


async def test_share_inflation_is_the_top_finding(machine: TimeMachine, devnet: Devnet) -> None:
    history = devnet.history
    record = history.scenario("vault-donation-inflation")
    usdx = history.address_of("MarketToken").lower()
    vault = history.address_of("YieldVault").lower()
    allocator = history.address_of("TreasuryAllocator").lower()
    attacker = history.address_of("InflationAttacker").lower()
    report = await machine.analyze(record.exploit_tx)

    top = report.top
    assert top is not None
    assert (top.detector, top.vulnerability_class, top.severity, top.confidence) == (
        "share_inflation",
        VulnerabilityClass.SHARE_INFLATION,
        "critical",
        0.95,
    )
    # attack(): calls[6] the donation (USDX transfer), calls[7].calls[2] the allocator's
    # 0-share vault deposit inside allocate(), calls[8] the redemption of the one share.
    assert top.evidence.frames == ["calls[6]", "calls[7].calls[2]", "calls[8]"]
    assert top.evidence.addresses == [vault, allocator, attacker]
    assert top.evidence.amounts == [
        Amount(address=allocator, asset=usdx, amount=TREASURY),
        Amount(address=attacker, asset=usdx, amount=TREASURY),
        Amount(address=attacker, asset=usdx, amount=TREASURY),
    ]
    assert top.evidence.signals[2] == (
        f"{allocator}'s deposit of 50,000 USDX after the donation "
        f"minted 0 share(s) (the rate before the donation gave {TREASURY})"
    )
    assert top.evidence.signals[3] == (
        "the donor's side took 100,000.000001 USDX out of the vault "
        "after putting in 50,000.000001 USDX: 50,000 USDX more"
    )
    assert [
        (row.address, [(a.asset, a.amount) for a in row.assets]) for row in report.profit.losses
    ] == [(allocator, [(usdx, TREASURY)])]
    assert report.profit.net(usdx) == TREASURY
