"""The self-transfer accounting exploit and the flash-loan arbitrage control, end to end."""

from __future__ import annotations

import pytest

from timemachine.analysis.logic_flaw import balance_slot
from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass

pytestmark = pytest.mark.integration

DRAINED = 41_563_242_239_399_630_395
"""WETH the pair lost: REFLEX bought for 1 WETH, doubled 20 times, sold for this plus 1 WETH."""
CREDITED = 23_641_861_404_955_478_011_225_560_750
"""REFLEX the 20 self-transfers created: bought * (2**20 - 1)."""
LOAN = 15_000 * 10**6
FEE = LOAN * 9 // 10_000


async def test_self_transfer_exploit_is_a_critical_logic_flaw(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario("self-transfer-accounting")
    weth = devnet.history.address_of("WrappedEther").lower()
    reflex = devnet.history.address_of("ReflexToken").lower()
    [pair] = (victim.lower() for victim in record.victims)
    [exploiter] = (contract.lower() for contract in record.attacker_contracts)
    assert record.expected_losses == {weth: DRAINED}
    receipt = await machine.upstream.call("eth_getTransactionReceipt", [record.exploit_tx])
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    assert record.expected_profit == {"ETH": -fee, weth: DRAINED}

    report = await machine.analyze(record.exploit_tx)
    top = report.top
    assert top is not None
    assert (top.detector, top.vulnerability_class, top.severity, top.confidence) == (
        "logic_flaw",
        VulnerabilityClass.LOGIC_FLAW,
        "critical",
        0.95,
    )
    assert top.evidence.addresses == [reflex, exploiter, pair]
    assert top.evidence.amounts == [
        Amount(address=exploiter, asset=reflex, amount=CREDITED),
        Amount(address=pair, asset=weth, amount=DRAINED),
    ]
    assert len(top.evidence.frames) == 11  # ten self-transfers shown, then the sale
    [pair_slot] = top.evidence.storage
    assert int(pair_slot.slot, 16) == balance_slot(pair, 3)
    assert top.evidence.signals[1].endswith("exactly the unaccounted credit")
    # The drain it explains follows as value extraction, ranked under it.
    assert [f.detector for f in report.findings] == ["logic_flaw", "value_extraction"]
    assert report.profit.loss(weth) == DRAINED
    assert report.profit.net(weth) == DRAINED


async def test_flash_loan_arbitrage_is_only_an_info_flash_loan(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario("flash-loan-arbitrage")
    lender = devnet.history.address_of("FlashLender").lower()
    bot = devnet.history.address_of("ArbitrageBot").lower()
    usdx = devnet.history.address_of("MarketToken").lower()
    report = await machine.analyze(record.exploit_tx)
    [finding] = report.findings
    assert (finding.detector, finding.vulnerability_class, finding.severity) == (
        "flash_loan",
        VulnerabilityClass.FLASH_LOAN,
        "info",
    )
    assert finding.confidence == 0.9
    assert finding.evidence.addresses == [lender, bot]
    assert finding.evidence.frames == [
        "calls[0]",
        "calls[0].calls[1]",
        "calls[0].calls[2]",
        "calls[0].calls[3]",
    ]
    assert finding.evidence.selectors == ["0x5cffe9de", "0x23e30c8b"]
    assert finding.evidence.amounts == [
        Amount(address=bot, asset=usdx, amount=LOAN),
        Amount(address=lender, asset=usdx, amount=FEE),
    ]
