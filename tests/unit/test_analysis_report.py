"""Profit, fund flow and the whole report on hand-built replays."""

from __future__ import annotations

from tests.unit.analysis_trees import (
    ATTACKER,
    COINBASE,
    EOA,
    ETHER,
    VICTIM,
    call,
    eth,
    result,
)
from timemachine.analysis import analyze
from timemachine.analysis.flows import fund_flow
from timemachine.analysis.profit import attacker_addresses, profit_report
from timemachine.analysis.report import render_markdown
from timemachine.analysis.report_html import render_html
from timemachine.chain.registry import DEVNET_WRAPPED_NATIVE
from timemachine.models import BalanceChange
from timemachine.models.analysis import AssetAmount, AssetValue, FlowEdge
from timemachine.models.replay import ReplayResult, TokenPrice
from timemachine.trace.formatting import format_units

FEE = 21_000 * 10**9
WITHDRAW = "0x2e1a7d4d"


def drain() -> ReplayResult:
    """EOA stakes 1 ETH through its contract, re-enters the victim's withdraw, collects 3 ETH."""
    inner = call(VICTIM, ATTACKER, value=ETHER)
    reenter = call(ATTACKER, VICTIM, WITHDRAW, name="withdraw", calls=[inner])
    first = call(VICTIM, ATTACKER, value=ETHER, calls=[reenter])
    outer = call(ATTACKER, VICTIM, WITHDRAW, name="withdraw", calls=[first])
    deposit = call(ATTACKER, VICTIM, "0xd0e30db0", value=ETHER)
    payout = call(ATTACKER, EOA, value=2 * ETHER)
    root = call(EOA, ATTACKER, "0x9e5faafc", value=ETHER, calls=[deposit, outer, payout])
    transfers = [
        eth(EOA, ATTACKER, ETHER),
        eth(ATTACKER, VICTIM, ETHER),
        eth(VICTIM, ATTACKER, ETHER),
        eth(VICTIM, ATTACKER, ETHER),
        eth(ATTACKER, EOA, 2 * ETHER),
    ]
    changes = {
        EOA: (10 * ETHER, 11 * ETHER - FEE),
        VICTIM: (ETHER, 0),
        COINBASE: (0, FEE // 10),
    }
    return result(root, changes=changes, transfers=transfers)


def test_attackers_are_the_sender_and_its_pass_through_contract() -> None:
    assert attacker_addresses(drain()) == [EOA, ATTACKER]


def test_profit_is_net_of_gas_and_the_victims_loss_is_exact() -> None:
    profit = profit_report(drain())
    assert profit.net("ETH") == ETHER - FEE
    assert profit.gas_fee_wei == FEE
    assert profit.loss("ETH") == ETHER
    assert [row.address for row in profit.losses] == [VICTIM]  # not the coinbase
    assert profit.net_gain == [AssetAmount(asset="ETH", amount=ETHER - FEE)]


def test_fund_flow_sums_transfers_per_edge() -> None:
    flow = fund_flow(drain())
    assert flow.nodes == [EOA, ATTACKER, VICTIM]
    assert flow.edges == [
        FlowEdge(source=EOA, target=ATTACKER, asset="ETH", amount=ETHER, transfers=1),
        FlowEdge(source=ATTACKER, target=VICTIM, asset="ETH", amount=ETHER, transfers=1),
        FlowEdge(source=VICTIM, target=ATTACKER, asset="ETH", amount=2 * ETHER, transfers=2),
        FlowEdge(source=ATTACKER, target=EOA, asset="ETH", amount=2 * ETHER, transfers=1),
    ]


def test_a_paying_contract_the_sender_called_is_a_victim_not_an_attacker() -> None:
    paid = call(VICTIM, EOA, value=ETHER)
    root = call(EOA, VICTIM, WITHDRAW, calls=[paid])
    replay = result(
        root,
        changes={VICTIM: (3 * ETHER, 2 * ETHER), EOA: (0, ETHER - FEE)},
        transfers=[eth(VICTIM, EOA, ETHER)],
    )
    assert attacker_addresses(replay) == [EOA]
    report = analyze(replay)
    assert report.findings == []
    assert report.profit.loss("ETH") == ETHER


def test_an_entry_contract_sweeping_third_party_value_to_the_sender_is_its_helper() -> None:
    """EOA -> ATTACKER.collect(): VICTIM pays ATTACKER 5 ETH, ATTACKER sends the sender 7 (its own
    2 ETH too): a helper deployed earlier, on the sender's side although it lost ETH."""
    paid = call(VICTIM, ATTACKER, value=5 * ETHER)
    pull = call(ATTACKER, VICTIM, "0x3ccfd60b", calls=[paid])
    swept = call(ATTACKER, EOA, value=7 * ETHER)
    replay = result(
        call(EOA, ATTACKER, "0xe5225381", calls=[pull, swept]),
        changes={VICTIM: (5 * ETHER, 0), ATTACKER: (2 * ETHER, 0), EOA: (0, 7 * ETHER)},
        transfers=[eth(VICTIM, ATTACKER, 5 * ETHER), eth(ATTACKER, EOA, 7 * ETHER)],
    )
    assert attacker_addresses(replay) == [EOA, ATTACKER]
    assert profit_report(replay).loss("ETH") == 5 * ETHER


def test_analyze_sorts_findings_and_renders_markdown() -> None:
    report = analyze(drain())
    # The reentrancy explains the drain: value extraction follows it, never above it.
    assert [(f.detector, f.severity) for f in report.findings] == [
        ("reentrancy", "critical"),
        ("value_extraction", "high"),
    ]
    assert report.top is report.findings[0]
    text = render_markdown(report)
    assert "| 1 | reentrancy | critical |" in text
    assert f"| {VICTIM} | {ATTACKER} | ETH | 2 | 2 |" in text
    assert "- Victims' loss: 1 ETH" in text
    assert "`calls[1]`" in text


TOKEN = "0x00000000000000000000000000000000000000d0"
JUNK = "0x00000000000000000000000000000000000000d1"
PAIR = "0x00000000000000000000000000000000000000d2"


def priced_drain() -> ReplayResult:
    """The drain, plus the victim's TOKEN and WETH going to the sender, and an unpriced JUNK."""
    base = drain()
    weth = DEVNET_WRAPPED_NATIVE
    tokens = [
        BalanceChange(address=EOA, asset=TOKEN, before=0, after=3_000, delta=3_000),
        BalanceChange(address=VICTIM, asset=TOKEN, before=3_000, after=0, delta=-3_000),
        BalanceChange(address=EOA, asset=weth, before=0, after=5, delta=5),
        BalanceChange(address=VICTIM, asset=weth, before=5, after=0, delta=-5),
        BalanceChange(address=EOA, asset=JUNK, delta=7),
    ]
    price = TokenPrice(
        token=TOKEN,
        pair=PAIR,
        wrapped_native=weth,
        reserve_token=7,
        reserve_native=3,
        found="trace",
    )
    return base.model_copy(
        update={"balance_changes": [*base.balance_changes, *tokens], "token_prices": [price]}
    )


def test_token_price_rounds_toward_zero() -> None:
    [price] = priced_drain().token_prices
    assert (price.value_of(3_000), price.value_of(-10), price.value_of(0)) == (1_285, -4, 0)


def test_profit_is_valued_in_eth_with_the_pair_as_evidence() -> None:
    profit = profit_report(priced_drain())
    weth = DEVNET_WRAPPED_NATIVE.lower()
    values = {value.asset: value for value in profit.values}
    assert profit.values[0].asset == "ETH"
    assert values["ETH"] == AssetValue(
        asset="ETH",
        net_gain=ETHER - FEE,
        loss=ETHER,
        net_gain_eth=ETHER - FEE,
        loss_eth=ETHER,
        basis="native",
    )
    assert values[weth] == AssetValue(
        asset=weth, net_gain=5, loss=5, net_gain_eth=5, loss_eth=5, basis="wrapped native"
    )
    # 3,000 TOKEN at 3 wei / 7 units, rounded down: 1,285 wei.
    assert values[TOKEN] == AssetValue(
        asset=TOKEN,
        net_gain=3_000,
        loss=3_000,
        net_gain_eth=1_285,
        loss_eth=1_285,
        basis="pair",
        pair=PAIR,
        reserve_token=7,
        reserve_native=3,
    )
    assert values[JUNK] == AssetValue(asset=JUNK, net_gain=7, loss=0)  # never guessed
    assert profit.unpriced == [JUNK]
    assert profit.net_gain_eth == ETHER - FEE + 5 + 1_285
    assert profit.total_loss_eth == ETHER + 5 + 1_285


def test_reports_show_eth_values_and_unpriced_assets() -> None:
    result = priced_drain()
    report = analyze(result)
    text = render_markdown(report)
    total = format_units(ETHER - FEE + 5 + 1_285, 18)
    assert f"- Net gain in ETH (priced assets): {total} ETH" in text
    assert f"- Unpriced (not in the ETH totals): {JUNK}" in text
    row = f"| {TOKEN} | 3,000 | 3,000 | {format_units(1_285, 18)} ETH | "
    assert (
        row + f"{format_units(1_285, 18)} ETH | pair {PAIR}: 3 wei / 7 units before the tx |"
        in (text)
    )
    assert f"| {JUNK} | 7 | 0 | unpriced | unpriced |" in text
    page = render_html(report, result)
    assert "<h3>Value in ETH</h3>" in page
    assert f"Net gain in ETH (priced assets): {total} ETH" in page
    assert "3 wei / 7 units before the tx" in page


def test_reports_show_what_lying_transfer_events_claimed() -> None:
    base = drain()
    lie = BalanceChange(
        address=VICTIM, asset=TOKEN, before=0, after=0, delta=0, logged_delta=-(2**256)
    )
    result = base.model_copy(update={"balance_changes": [*base.balance_changes, lie]})
    report = analyze(result)
    assert f"| {VICTIM} | {TOKEN} | 0 (Transfer events claim {-(2**256):,}) |" in render_markdown(
        report
    )
    assert f"Transfer events claim {-(2**256):,}" in render_html(report, result)
