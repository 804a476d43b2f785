"""Scenarios `governance-flash-takeover` and `governance-vote`: exact amounts on chain, the
governance finding on the takeover, and silence on the honest votes and execution."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import severity_rank
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.trace.signatures import keccak_signature

pytestmark = pytest.mark.integration

ETHER = 10**18
GOV = 10**18
USD = 10**6
BORROWED = 680_000 * GOV
BALANCE_OF = keccak_signature("balanceOf(address)")[:10]
STATE = keccak_signature("state(uint256)")[:10]
CAST_VOTE = keccak_signature("castVote(uint256,uint8)")[:10]
EXECUTE = keccak_signature("execute(address[],uint256[],bytes[],bytes32)")[:10]
EMERGENCY_COMMIT = keccak_signature("emergencyCommit(address[],uint256[],bytes[],bytes32)")[:10]
PROPOSAL_EXECUTED = keccak_signature("ProposalExecuted(uint256)")
ACTIVE, EXECUTED = 1, 7


async def _uint(machine: TimeMachine, contract: str, data: str, block: int) -> int:
    raw = await machine.upstream.call("eth_call", [{"to": contract, "data": data}, hex(block)])
    return int(raw[:66], 16)


async def _balance(machine: TimeMachine, token: str, holder: str, block: int) -> int:
    return await _uint(machine, token, BALANCE_OF + abi_encode(["address"], [holder]).hex(), block)


async def _eth(machine: TimeMachine, holder: str, block: int) -> int:
    return int(await machine.upstream.call("eth_getBalance", [holder, hex(block)]), 16)


async def test_the_takeover_moves_the_treasury_to_mallory(
    machine: TimeMachine, devnet: Devnet
) -> None:
    history = devnet.history
    record = history.scenario("governance-flash-takeover")
    governor = history.address_of("Flash DAO Governor")
    gov = history.address_of("Flash DAO GOV")
    pair = history.address_of("SwapPair Flash DAO GOV/WETH")
    attacker = history.address_of("GovernanceAttacker")
    mallory = history.address_of("mallory")
    usdx = history.address_of("MarketToken")
    weth = history.address_of("WrappedEther")
    block = record.block_number
    assert (record.attacker, record.attacker_contracts) == (mallory, [attacker])
    assert [v.lower() for v in record.victims] == sorted([governor.lower(), pair.lower()])

    # The proposal was open (created by mallory in an earlier block) and is executed after.
    receipt = await machine.upstream.call("eth_getTransactionReceipt", [record.exploit_tx])
    [proposal] = [
        int(log["data"], 16) for log in receipt["logs"] if log["topics"][0] == PROPOSAL_EXECUTED
    ]
    state = STATE + abi_encode(["uint256"], [proposal]).hex()
    assert await _uint(machine, governor, state, block - 1) == ACTIVE
    assert await _uint(machine, governor, state, block) == EXECUTED

    # Before: 148 ETH (150 less an honest 2 ETH grant), 250,000 USDX, 20,000 GOV; after: nothing.
    assert await _eth(machine, governor, block - 1) == 148 * ETHER
    assert await _balance(machine, usdx, governor, block - 1) == 250_000 * USD
    assert await _balance(machine, gov, governor, block - 1) == 20_000 * GOV
    for token in (usdx, gov):
        assert await _balance(machine, token, governor, block) == 0
    assert await _eth(machine, governor, block) == 0

    # The pair lent 680,000 GOV, got it back with the 0.3% fee, then bought the rest of the loot.
    gov_reserve = await _balance(machine, gov, pair, block - 1)
    weth_reserve = await _balance(machine, weth, pair, block - 1)
    fee = BORROWED * 1000 // 997 + 1 - BORROWED
    sold = 20_000 * GOV - fee
    weth_out = sold * 997 * weth_reserve // ((gov_reserve + fee) * 1000 + sold * 997)
    assert await _balance(machine, gov, pair, block) == gov_reserve + 20_000 * GOV
    assert await _balance(machine, weth, pair, block) == weth_reserve - weth_out

    gas = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    for token, amount in ((usdx, 250_000 * USD), (weth, weth_out)):
        before = await _balance(machine, token, mallory, block - 1)
        assert await _balance(machine, token, mallory, block) - before == amount
    eth_gain = await _eth(machine, mallory, block) - await _eth(machine, mallory, block - 1)
    assert eth_gain == 148 * ETHER - gas
    assert record.expected_losses == {
        "ETH": 148 * ETHER,
        usdx.lower(): 250_000 * USD,
        gov.lower(): 20_000 * GOV,
        weth.lower(): weth_out,
    }
    assert record.expected_profit == {
        "ETH": 148 * ETHER - gas,
        usdx.lower(): 250_000 * USD,
        weth.lower(): weth_out,
    }


async def test_the_governance_finding_is_on_top(machine: TimeMachine, devnet: Devnet) -> None:
    history = devnet.history
    record = history.scenario("governance-flash-takeover")
    governor = history.address_of("Flash DAO Governor").lower()
    gov = history.address_of("Flash DAO GOV").lower()
    pair = history.address_of("SwapPair Flash DAO GOV/WETH").lower()
    attacker = history.address_of("GovernanceAttacker").lower()
    usdx = history.address_of("MarketToken").lower()
    report = await machine.analyze(record.exploit_tx)

    top = report.top
    assert top is not None
    assert (top.detector, top.vulnerability_class, top.severity, top.confidence) == (
        "governance",
        VulnerabilityClass.GOVERNANCE_TAKEOVER,
        "critical",
        0.95,
    )
    assert top.evidence.addresses == [governor, attacker, gov]
    assert top.evidence.selectors == [CAST_VOTE, EMERGENCY_COMMIT]
    # castVote, the flash swap's GOV transfer in, the repayment and the sale back to the pair,
    # emergencyCommit and its three payouts.
    assert top.evidence.frames == [
        "calls[1].calls[1].calls[1]",
        "calls[1].calls[0]",
        "calls[1].calls[1].calls[3]",
        "calls[4].calls[3]",
        "calls[1].calls[1].calls[2]",
        "calls[1].calls[1].calls[2].calls[1]",
        "calls[1].calls[1].calls[2].calls[2]",
        "calls[1].calls[1].calls[2].calls[3]",
    ]
    lost = [(a.address, a.asset, a.amount) for a in top.evidence.amounts[:3]]
    assert sorted(lost) == sorted(
        [
            (governor, "ETH", 148 * ETHER),
            (governor, gov, 20_000 * GOV),
            (governor, usdx, 250_000 * USD),
        ]
    )
    assert top.evidence.signals[2] == (
        f"the voter {attacker} received 680,000 GOV from {pair} in this "
        "transaction just before voting"
    )
    assert len(top.evidence.signals) == 6
    # The flash swap itself may be reported too, but below the takeover.
    assert all(severity_rank(f.severity) > 0 for f in report.findings[1:])


async def test_the_honest_grant_is_paid_and_raises_nothing(
    machine: TimeMachine, devnet: Devnet
) -> None:
    history = devnet.history
    record = history.scenario("governance-vote")
    governor = history.address_of("Grants DAO Governor")
    erin = history.address_of("erin")
    usdx = history.address_of("MarketToken")
    block = record.block_number
    assert record.attacker == history.address_of("dave")

    tx = await machine.upstream.call("eth_getTransactionByHash", [record.exploit_tx])
    assert tx["input"][:10] == EXECUTE
    assert await _eth(machine, erin, block) - await _eth(machine, erin, block - 1) == 5 * ETHER
    paid = await _balance(machine, usdx, erin, block) - await _balance(
        machine, usdx, erin, block - 1
    )
    assert paid == 20_000 * USD

    report = await machine.analyze(record.exploit_tx)
    assert report.findings == []
    assert [
        (row.address, {a.asset: a.amount for a in row.assets}) for row in report.profit.losses
    ] == [(governor.lower(), {"ETH": 5 * ETHER, usdx.lower(): 20_000 * USD})]


async def test_the_honest_proposal_and_votes_raise_nothing(
    machine: TimeMachine, devnet: Devnet
) -> None:
    history = devnet.history
    record = history.scenario("governance-vote")
    governor = history.address_of("Grants DAO Governor").lower()
    calls: list[tuple[str, str]] = []
    for number in range(record.block_number - 8, record.block_number):
        block = await machine.upstream.call("eth_getBlockByNumber", [hex(number), True])
        for tx in block["transactions"]:
            if (tx["to"] or "").lower() == governor:
                calls.append((tx["hash"], tx["input"][:10]))
    assert [selector for _, selector in calls].count(CAST_VOTE) == 5
    assert len(calls) == 6  # the proposal and five votes
    for tx_hash, _ in calls:
        report = await machine.analyze(tx_hash)
        assert report.findings == [], tx_hash
