"""Instant yield on hand-built trees: 1 ETH staked, 20 ETH back in the same tx to a fresh
account; quiet when a mechanism already explains the contract or the take is a fair withdrawal."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, OTHER, VICTIM, call, eth, result
from timemachine.analysis import analyze, instant_yield
from timemachine.models.analysis import Amount
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass


def staked_and_cashed(back: int) -> ReplayResult:
    """ATTACKER stakes 1 ETH in VICTIM (holding 30); OTHER, a fresh account it drives, claims
    `back` ETH."""
    stake = call(ATTACKER, VICTIM, "0x3a4b66f1", value=ETHER)
    claim = call(OTHER, VICTIM, "0x4e71d92d", calls=[call(VICTIM, OTHER, value=back)])
    relay = call(ATTACKER, OTHER, "0xb6dc16f6", calls=[claim, call(OTHER, EOA, value=back)])
    return result(
        call(EOA, ATTACKER, "0x3c48664c", value=ETHER, calls=[stake, relay]),
        changes={VICTIM: (30 * ETHER, 31 * ETHER - back), EOA: (ETHER, back)},
        transfers=[
            eth(EOA, ATTACKER, ETHER),
            eth(ATTACKER, VICTIM, ETHER),
            eth(VICTIM, OTHER, back),
            eth(OTHER, EOA, back),
        ],
    )


def test_a_fresh_account_paid_many_times_the_stake_is_a_logic_flaw() -> None:
    [finding] = instant_yield.detect(staked_and_cashed(21 * ETHER), [])
    assert finding.vulnerability_class is VulnerabilityClass.LOGIC_FLAW
    assert finding.severity == "high"  # 20 of VICTIM's 30 ETH
    assert finding.title == f"{VICTIM} paid 21.0x a stake made in the same tx"
    assert finding.evidence.amounts == [Amount(address=VICTIM, asset="ETH", amount=20 * ETHER)]


def test_a_stake_withdrawn_with_a_little_yield_is_not_reported() -> None:
    assert instant_yield.detect(staked_and_cashed(2 * ETHER), []) == []


def test_analyze_puts_the_flaw_first_and_the_extraction_it_explains_under_it() -> None:
    findings = analyze(staked_and_cashed(21 * ETHER)).findings
    assert [(f.detector, f.severity) for f in findings] == [
        ("instant_yield", "high"),
        ("value_extraction", "medium"),
    ]
