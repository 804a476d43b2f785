"""The spot-oracle manipulation of a lending market and its benign look-alike, a liquidation."""

from __future__ import annotations

import pytest

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import Amount, AnalysisReport, severity_rank
from timemachine.models.taxonomy import VulnerabilityClass

pytestmark = pytest.mark.integration

USD = 10**6
ETHER = 10**18
CASH = 35_000 * USD
"""What the market held: 50,000 supplied - 15,000 borrowed + 5,000 repaid - 5,000 redeemed."""
ATTACKER_USDX = 32_720_358_377
"""USDX mallory received: the 35,000 borrowed less the swap round trip and the 900 USDX fee."""
FLASH_FEE = 900 * USD
SEIZED = 2_973_879_869_917_009_047
REPAID = 6_751_342_754


def _deltas(report: AnalysisReport) -> dict[tuple[str, str], int]:
    return {
        (change.address.lower(), change.asset.lower()): change.delta
        for change in report.balance_changes
    }


async def test_the_oracle_attack_drains_the_market_and_is_the_top_finding(
    machine: TimeMachine, devnet: Devnet
) -> None:
    history = devnet.history
    record = history.scenario("oracle-manipulation-lending")
    market = history.address_of("SpotLendingMarket").lower()
    pair = history.address_of("SwapPair WETH/USDX").lower()
    lender = history.address_of("FlashLender").lower()
    attacker = history.address_of("OracleAttacker").lower()
    usdx = history.address_of("MarketToken").lower()
    weth = history.address_of("WrappedEther").lower()
    receipt = await machine.upstream.call("eth_getTransactionReceipt", [record.exploit_tx])
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)

    assert [v.lower() for v in record.victims] == [market]
    assert [c.lower() for c in record.attacker_contracts] == [attacker]
    assert record.expected_losses == {usdx: CASH}
    assert record.expected_profit == {"ETH": -2 * ETHER - fee, usdx: ATTACKER_USDX}

    report = await machine.analyze(record.exploit_tx)
    deltas = _deltas(report)
    assert deltas[market, usdx] == -CASH
    assert deltas[market, weth] == 2 * ETHER
    assert deltas[lender, usdx] == FLASH_FEE
    assert deltas.get((pair, weth), 0) == 0
    assert deltas[pair, usdx] == CASH - FLASH_FEE - ATTACKER_USDX

    top = report.top
    assert top is not None
    assert (top.detector, top.vulnerability_class, top.severity, top.confidence) == (
        "price_manipulation",
        VulnerabilityClass.PRICE_MANIPULATION,
        "critical",
        0.95,
    )
    # onFlashLoan runs at calls[1].calls[2]: swap in, borrow (reads, pays), swap back.
    assert top.evidence.frames == [
        "calls[1].calls[2].calls[3]",
        "calls[1].calls[2].calls[7].calls[0]",
        "calls[1].calls[2].calls[7].calls[1]",
        "calls[1].calls[2].calls[11]",
    ]
    assert top.evidence.addresses == [market, pair]
    assert top.evidence.selectors == ["0x0902f1ac"]
    assert top.evidence.amounts == [
        Amount(address=market, asset=usdx, amount=CASH),
        Amount(address=attacker, asset=usdx, amount=CASH),
    ]
    assert (
        top.evidence.signals[0] == f"swaps moved pool {pair}'s spot price 19.0x before it was read"
    )
    assert top.evidence.signals[2:] == [
        "a later swap in the same pool went the opposite way (swap back)",
        f"{market} lost value over the transaction",
        "the price-moving swap ran inside a flash-loan callback",
    ]
    flash = [f for f in report.findings if f.vulnerability_class is VulnerabilityClass.FLASH_LOAN]
    assert all(severity_rank(f.severity) > severity_rank(top.severity) for f in flash)


async def test_the_liquidation_pays_the_bonus_and_is_not_flagged(
    machine: TimeMachine, devnet: Devnet
) -> None:
    history = devnet.history
    record = history.scenario("lending-liquidation")
    market = history.address_of("SpotLendingMarket (liquidation)").lower()
    usdx = history.address_of("MarketToken").lower()
    weth = history.address_of("WrappedEther").lower()
    liquidator = record.attacker.lower()
    assert (record.benign, record.vulnerability_class) == (True, "none")

    report = await machine.analyze(record.exploit_tx)
    deltas = _deltas(report)
    assert deltas[liquidator, weth] == SEIZED
    assert deltas[liquidator, usdx] == -REPAID
    assert deltas[market, weth] == -SEIZED
    assert deltas[market, usdx] == REPAID
    assert [f for f in report.findings if f.detector == "price_manipulation"] == []
    assert [f for f in report.findings if severity_rank(f.severity) < severity_rank("low")] == []
