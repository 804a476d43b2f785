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
from timemachine.models.analysis import AssetAmount, FlowEdge
from timemachine.models.replay import ReplayResult

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


def test_analyze_sorts_findings_and_renders_markdown() -> None:
    report = analyze(drain())
    assert [(f.detector, f.severity) for f in report.findings] == [("reentrancy", "critical")]
    assert report.top is report.findings[0]
    text = render_markdown(report)
    assert "| 1 | reentrancy | critical |" in text
    assert f"| {VICTIM} | {ATTACKER} | ETH | 2 | 2 |" in text
    assert f"- Victims' loss: 1 ETH ({ETHER} wei)" in text
    assert "`calls[1]`" in text
