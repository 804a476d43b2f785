"""The logic-flaw (accounting invariant) detector on hand-built call trees and state diffs."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, VICTIM, call, result, transfer_log
from timemachine.analysis import logic_flaw
from timemachine.analysis.logic_flaw import balance_slot
from timemachine.models.analysis import Amount, SlotChange
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import BalanceChange, CallFrame, LogEntry
from timemachine.trace.signatures import keccak_signature

TOKEN = "0x00000000000000000000000000000000000000d0"
WETH = "0x00000000000000000000000000000000000000d1"
POOL = VICTIM
ZERO = "0x" + "0" * 40
P = 3
"""The balance mapping's slot."""


def word(value: int) -> str:
    return f"0x{value:064x}"


def slot(holder: str, index: int = P) -> str:
    return word(balance_slot(holder, index))


def moved(token: str, source: str, target: str, amount: int) -> CallFrame:
    frame = call(source, token, "0xa9059cbb")
    frame.logs = [transfer_log(token, source, target, amount)]
    return frame


def with_weth(replay: ReplayResult, holder: str, before: int, after: int) -> ReplayResult:
    replay.balance_changes.append(
        BalanceChange(address=holder, asset=WETH, before=before, after=after, delta=after - before)
    )
    return replay


def exploit(doublings: int = 2) -> ReplayResult:
    """Buy 100 from the pool, self-transfer the whole balance `doublings` times, sell it all."""
    calls = [moved(TOKEN, POOL, ATTACKER, 100)]
    balance = 100
    for _ in range(doublings):
        calls.append(moved(TOKEN, ATTACKER, ATTACKER, balance))
        balance *= 2
    calls.append(moved(TOKEN, ATTACKER, POOL, balance))
    calls.append(moved(WETH, POOL, ATTACKER, 9 * ETHER))
    storage = {TOKEN: ({slot(POOL): word(1_000)}, {slot(POOL): word(1_000 - 100 + balance)})}
    replay = result(call(EOA, ATTACKER, "0xd018db3e", calls=calls), storage=storage)
    return with_weth(replay, POOL, 10 * ETHER, ETHER)


def test_self_transfer_credit_sold_to_a_pool_is_critical() -> None:
    [finding] = logic_flaw.detect(exploit())
    assert finding.detector == "logic_flaw"
    assert finding.vulnerability_class is VulnerabilityClass.LOGIC_FLAW
    assert (finding.severity, finding.confidence) == ("critical", 0.95)
    assert finding.title == f"Self-transfer inflates balances in {TOKEN}"
    assert finding.evidence.frames == ["calls[1]", "calls[2]", "calls[3]"]
    assert finding.evidence.addresses == [TOKEN, ATTACKER, POOL]
    assert finding.evidence.storage == [
        SlotChange(address=TOKEN, slot=slot(POOL), before=word(1_000), after=word(1_300))
    ]
    assert finding.evidence.amounts == [
        Amount(address=ATTACKER, asset=TOKEN, amount=300),
        Amount(address=POOL, asset=WETH, amount=9 * ETHER),
    ]
    assert finding.evidence.signals[1] == (
        f"2 self-transfer(s) Transfer({ATTACKER}, {ATTACKER}, x) totalling 300, "
        "exactly the unaccounted credit"
    )


def test_credit_without_a_pool_loss_is_low() -> None:
    replay = exploit()
    replay.balance_changes.clear()
    [finding] = logic_flaw.detect(replay)
    assert (finding.severity, finding.confidence) == ("low", 0.65)
    assert finding.evidence.frames == ["calls[1]", "calls[2]"]


def test_balance_rise_without_transfer_in_storage_is_reported() -> None:
    """A holder's slot rose 500 but its events net +100: 400 created without a mint event."""
    tree = call(EOA, TOKEN, "0xa9059cbb", calls=[moved(TOKEN, POOL, ATTACKER, 100)])
    storage = {
        TOKEN: (
            {slot(POOL): word(1_000), slot(ATTACKER): word(0)},
            {slot(POOL): word(900), slot(ATTACKER): word(500)},
        )
    }
    [finding] = logic_flaw.detect(result(tree, storage=storage))
    assert (finding.severity, finding.title) == (
        "low",
        f"Balance credited without a Transfer in {TOKEN}",
    )
    assert finding.evidence.amounts == [Amount(address=ATTACKER, asset=TOKEN, amount=400)]


def test_normal_transfers_swaps_and_mints_are_not_reported() -> None:
    calls = [
        moved(TOKEN, ZERO, ATTACKER, 50),  # mint
        moved(TOKEN, ATTACKER, POOL, 120),  # sell into the pool
        moved(WETH, POOL, ATTACKER, ETHER),
    ]
    storage = {
        TOKEN: (
            {slot(POOL): word(1_000), slot(ATTACKER): word(100)},
            {slot(POOL): word(1_120), slot(ATTACKER): word(30)},
        )
    }
    replay = result(call(EOA, ATTACKER, "0x12345678", calls=calls), storage=storage)
    assert logic_flaw.detect(with_weth(replay, POOL, 10 * ETHER, 9 * ETHER)) == []


def test_correct_self_transfer_is_not_reported() -> None:
    calls = [moved(TOKEN, ATTACKER, ATTACKER, 70), moved(TOKEN, ATTACKER, POOL, 10)]
    storage = {
        TOKEN: (
            {slot(POOL): word(0), slot(ATTACKER): word(100)},
            {slot(POOL): word(10), slot(ATTACKER): word(90)},
        )
    }
    assert logic_flaw.detect(result(call(EOA, ATTACKER, "0x1", calls=calls), storage=storage)) == []


def test_weth_deposits_count_as_credits() -> None:
    deposit = call(ATTACKER, TOKEN, "0xd0e30db0", value=5)
    deposit.logs = [
        LogEntry(
            address=TOKEN,
            topics=[keccak_signature("Deposit(address,uint256)"), word(int(ATTACKER, 16))],
            data=word(5),
        )
    ]
    calls = [deposit, moved(TOKEN, ATTACKER, POOL, 3), moved(WETH, POOL, ATTACKER, 10)]
    storage = {TOKEN: ({slot(POOL): word(100)}, {slot(POOL): word(103), slot(ATTACKER): word(2)})}
    replay = result(call(EOA, ATTACKER, "0x1", calls=calls), storage=storage)
    assert logic_flaw.detect(with_weth(replay, POOL, 100, 90)) == []


def test_storage_in_other_units_is_left_alone() -> None:
    """Share-based tokens: no participant's slot moves by its event amounts."""
    calls = [moved(TOKEN, POOL, ATTACKER, 100)]
    storage = {
        TOKEN: (
            {slot(POOL): word(1_000), slot(ATTACKER): word(0)},
            {slot(POOL): word(950), slot(ATTACKER): word(150)},
        )
    }
    assert logic_flaw.detect(result(call(EOA, ATTACKER, "0x1", calls=calls), storage=storage)) == []
