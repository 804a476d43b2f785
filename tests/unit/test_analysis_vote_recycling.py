"""Vote recycling on hand-built call trees: one balance weighed for two voters, then a payout."""

from __future__ import annotations

from tests.unit.analysis_trees import (
    ATTACKER,
    EOA,
    ETHER,
    OTHER,
    VICTIM,
    call,
    eth,
    result,
    transfer_log,
)
from timemachine.analysis import vote_recycling
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

TOKEN = "0x00000000000000000000000000000000000000d7"
BALANCE_OF = "0x70a08231"
VOTE, EXECUTE, TRANSFER = "0x0121b93f", "0xfe0d94c1", "0xa9059cbb"


def weigh(voter: str, balance: int) -> CallFrame:
    """VICTIM reads TOKEN.balanceOf(voter), which returns `balance`."""
    return call(
        VICTIM,
        TOKEN,
        BALANCE_OF,
        kind="STATICCALL",
        data=voter[2:].rjust(64, "0"),
        output="0x" + f"{balance:064x}",
    )


def give(source: str, target: str) -> CallFrame:
    frame = call(source, TOKEN, TRANSFER, name="transfer")
    frame.logs = [transfer_log(TOKEN, source, target, 100)]
    return frame


def recycled(*, pays_per_vote: bool = False) -> CallFrame:
    """ATTACKER votes with 100 tokens, passes them to OTHER, which votes again; VICTIM pays."""
    payout = [call(VICTIM, ATTACKER, value=ETHER)] if pays_per_vote else []
    first = call(ATTACKER, VICTIM, VOTE, calls=[weigh(ATTACKER, 100), *payout])
    second_vote = call(OTHER, VICTIM, VOTE, calls=[weigh(OTHER, 100), *payout])
    relay = call(ATTACKER, OTHER, "0x8f0dd67b", calls=[second_vote, give(OTHER, ATTACKER)])
    execute = call(ATTACKER, VICTIM, EXECUTE, calls=[call(VICTIM, EOA, value=ETHER)])
    later = [] if pays_per_vote else [execute]
    return call(EOA, ATTACKER, "0x02c04586", calls=[first, give(ATTACKER, OTHER), relay, *later])


def test_one_balance_weighed_for_two_voters_then_paid_out_is_a_takeover() -> None:
    replay = result(recycled(), changes={VICTIM: (ETHER, 0)}, transfers=[eth(VICTIM, EOA, ETHER)])
    [finding] = vote_recycling.detect(replay)
    assert finding.vulnerability_class is VulnerabilityClass.GOVERNANCE_TAKEOVER
    assert (finding.severity, finding.evidence.addresses) == (
        "critical",
        [VICTIM, TOKEN, ATTACKER, OTHER],
    )
    assert finding.evidence.frames == ["calls[0]", "calls[2].calls[0]"]
    assert finding.evidence.amounts == [Amount(address=VICTIM, asset="ETH", amount=ETHER)]


def test_a_balance_redeemed_in_each_weighing_call_is_no_vote() -> None:
    replay = result(recycled(pays_per_vote=True), changes={VICTIM: (2 * ETHER, 0)})
    assert vote_recycling.detect(replay) == []


def test_votes_with_no_payout_in_the_tx_raise_nothing() -> None:
    assert vote_recycling.detect(result(recycled())) == []
