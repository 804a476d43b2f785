"""The reentrancy detector on hand-built call trees."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, VICTIM, call, result
from timemachine.analysis import reentrancy
from timemachine.models.analysis import Amount
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

WITHDRAW = "0x2e1a7d4d"
TRANSFER = "0xa9059cbb"
BALANCE_OF = "0x70a08231"


def drained_bank() -> ReplayResult:
    inner = call(VICTIM, ATTACKER, value=ETHER)
    reenter = call(ATTACKER, VICTIM, WITHDRAW, name="withdraw", calls=[inner])
    first = call(VICTIM, ATTACKER, value=ETHER, calls=[reenter])
    outer = call(ATTACKER, VICTIM, WITHDRAW, name="withdraw", calls=[first])
    payout = call(ATTACKER, EOA, value=2 * ETHER)
    root = call(EOA, ATTACKER, "0x9e5faafc", calls=[outer, payout])
    return result(root, changes={VICTIM: (2 * ETHER, 0), EOA: (10 * ETHER, 12 * ETHER)})


def test_single_function_reentrancy_that_drains_the_contract() -> None:
    findings = reentrancy.detect(drained_bank())
    assert len(findings) == 1
    finding = findings[0]
    assert finding.vulnerability_class is VulnerabilityClass.REENTRANCY
    assert finding.severity == "critical"
    assert finding.confidence == 0.8  # hand-over with value, same function, loss
    assert finding.title == f"Single-function reentrancy into {VICTIM}"
    assert finding.evidence.frames == ["calls[0]", "calls[0].calls[0].calls[0]"]
    assert finding.evidence.selectors == [WITHDRAW]
    assert finding.evidence.addresses == [VICTIM]
    assert finding.evidence.amounts == [Amount(address=VICTIM, asset="ETH", amount=2 * ETHER)]


def test_cross_function_reentrancy_counts() -> None:
    moved = call(ATTACKER, VICTIM, TRANSFER, name="transfer")
    paid = call(VICTIM, ATTACKER, value=ETHER, calls=[moved])
    redeem = call(ATTACKER, VICTIM, "0x2f4350c2", name="redeemAll", calls=[paid])
    root = call(EOA, ATTACKER, "0xa7db742f", calls=[redeem])
    findings = reentrancy.detect(
        result(root, changes={VICTIM: (4 * ETHER, 3 * ETHER)})  # a quarter lost
    )
    assert [(f.title, f.severity) for f in findings] == [
        (f"Cross-function reentrancy into {VICTIM}", "medium")
    ]
    assert findings[0].evidence.frames == ["calls[0]", "calls[0].calls[0].calls[0]"]
    assert findings[0].evidence.selectors == ["0x2f4350c2", TRANSFER]


def test_withdraw_with_a_receive_callback_that_does_not_reenter_is_not_reported() -> None:
    paid = call(VICTIM, ATTACKER, value=ETHER)
    withdraw = call(ATTACKER, VICTIM, WITHDRAW, name="withdraw", calls=[paid])
    root = call(EOA, ATTACKER, "0x12345678", calls=[withdraw])
    assert reentrancy.detect(result(root, changes={VICTIM: (5 * ETHER, 4 * ETHER)})) == []


def test_a_view_called_back_during_the_payment_is_not_reported() -> None:
    peek = call(ATTACKER, VICTIM, BALANCE_OF, kind="STATICCALL")
    paid = call(VICTIM, ATTACKER, value=ETHER, calls=[peek])
    withdraw = call(ATTACKER, VICTIM, WITHDRAW, calls=[paid])
    root = call(EOA, ATTACKER, "0x12345678", calls=[withdraw])
    assert reentrancy.detect(result(root, changes={VICTIM: (5 * ETHER, 4 * ETHER)})) == []


def test_a_contract_calling_itself_is_not_reentrancy() -> None:
    own = call(VICTIM, VICTIM, TRANSFER)
    root = call(EOA, VICTIM, "0x12345678", calls=[own])
    assert reentrancy.detect(result(root)) == []


def test_a_callback_with_nothing_at_stake_is_not_reported() -> None:
    # The caller's own contract is entered again by the contract it called, but it sent no
    # value with the call and lost nothing: how callbacks work, not an attack on it.
    back = call(VICTIM, ATTACKER, "0x10d1e85c")
    work = call(ATTACKER, VICTIM, "0x022c0d9f", calls=[back])
    root = call(EOA, ATTACKER, "0x12345678", calls=[work])
    assert reentrancy.detect(result(root)) == []
