"""The signature-replay detector on hand-built call trees."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, ECRECOVER, EOA, ETHER, VICTIM, call, result
from timemachine.analysis import signature_replay
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

DIGEST = "0x" + "d5" * 32
SIGNED = DIGEST + "00" * 31 + "1b" + "11" * 64
SIGNER = "0x" + "00" * 12 + "aa" * 20


def cash(data: str = SIGNED) -> CallFrame:
    verify = call(VICTIM, ECRECOVER, kind="STATICCALL", data=data[2:], output=SIGNER)
    return call(ATTACKER, VICTIM, "0x3f4ba83a", calls=[verify, call(VICTIM, EOA, value=ETHER)])


def test_the_same_signature_cashed_twice_is_reported() -> None:
    root = call(EOA, ATTACKER, "0xabcdef01", calls=[cash(), cash()])
    replay = result(root, changes={VICTIM: (4 * ETHER, 2 * ETHER)})
    findings = signature_replay.detect(replay)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.vulnerability_class is VulnerabilityClass.SIGNATURE_REPLAY
    assert (finding.severity, finding.confidence) == ("high", 0.8)
    assert finding.evidence.digests == [DIGEST]
    assert finding.evidence.frames == [
        "calls[0].calls[0]",
        "calls[1].calls[0]",
        "calls[0].calls[1]",
        "calls[1].calls[1]",
    ]
    assert finding.evidence.amounts == [
        Amount(address=VICTIM, asset="ETH", amount=2 * ETHER),
        Amount(address=EOA, asset="ETH", amount=ETHER),
        Amount(address=EOA, asset="ETH", amount=ETHER),
    ]


def test_one_verification_is_not_reported() -> None:
    root = cash()
    replay = result(root, changes={VICTIM: (4 * ETHER, 3 * ETHER)})
    assert signature_replay.detect(replay) == []


def test_two_different_signatures_are_not_reported() -> None:
    other = DIGEST[:-2] + "ee" + SIGNED[66:]
    root = call(EOA, ATTACKER, "0xabcdef01", calls=[cash(), cash(other)])
    replay = result(root, changes={VICTIM: (4 * ETHER, 2 * ETHER)})
    assert signature_replay.detect(replay) == []
