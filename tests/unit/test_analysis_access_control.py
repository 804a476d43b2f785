"""The access-control detector on hand-built call trees and state diffs."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, OTHER, VICTIM, call, result
from timemachine.analysis import access_control, missing_access_control
from timemachine.models.analysis import Amount, SlotChange
from timemachine.models.taxonomy import VulnerabilityClass

SLOT = "0x" + "00" * 32


def word(address: str, flag: int = 0) -> str:
    return "0x" + f"{flag:024x}" + address[2:]


def test_reinitialization_then_drain_is_reported_with_its_evidence() -> None:
    init = call(ATTACKER, VICTIM, "0xc4d66de8", name="initialize")
    payout = call(VICTIM, EOA, value=5 * ETHER)
    pay = call(ATTACKER, VICTIM, "0xc2907904", name="pay", calls=[payout])
    root = call(EOA, ATTACKER, "0x5e0d9c85", calls=[init, pay])
    replay = result(
        root,
        changes={VICTIM: (5 * ETHER, 0), EOA: (ETHER, 6 * ETHER)},
        storage={VICTIM: ({SLOT: word(OTHER, 1)}, {SLOT: word(ATTACKER, 1)})},
    )
    findings = access_control.detect(replay)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.vulnerability_class is VulnerabilityClass.ACCESS_CONTROL
    assert (finding.severity, finding.confidence) == ("critical", 0.8)
    assert finding.title == f"Privileged role of {VICTIM} taken by {ATTACKER}"
    assert finding.evidence.frames == ["calls[0]", "calls[1].calls[0]"]
    assert finding.evidence.selectors == ["0xc4d66de8"]
    assert finding.evidence.storage == [
        SlotChange(address=VICTIM, slot=SLOT, before=word(OTHER, 1), after=word(ATTACKER, 1))
    ]
    assert finding.evidence.amounts == [
        Amount(address=VICTIM, asset="ETH", amount=5 * ETHER),
        Amount(address=EOA, asset="ETH", amount=5 * ETHER),
    ]


def test_the_legit_owner_using_its_role_is_not_reported() -> None:
    payout = call(VICTIM, OTHER, value=ETHER)
    root = call(EOA, VICTIM, "0xc2907904", name="pay", calls=[payout])
    replay = result(root, changes={VICTIM: (5 * ETHER, 4 * ETHER), OTHER: (0, ETHER)})
    assert access_control.detect(replay) == []


def test_a_first_initialization_is_not_reported() -> None:
    root = call(EOA, VICTIM, "0xc4d66de8", name="initialize")
    replay = result(root, storage={VICTIM: ({SLOT: "0x" + "00" * 32}, {SLOT: word(EOA, 1)})})
    assert access_control.detect(replay) == []


def test_an_owner_slot_taken_without_initializer_or_payout_is_not_reported() -> None:
    # e.g. a two-step ownership transfer accepted by the pending owner
    root = call(EOA, VICTIM, "0x79ba5097", name="acceptOwnership")
    replay = result(root, storage={VICTIM: ({SLOT: word(OTHER)}, {SLOT: word(EOA)})})
    assert access_control.detect(replay) == []


def test_a_feed_re_pointed_at_the_caller_is_missing_access_control_not_a_takeover() -> None:
    """setFeed(helper), then a borrow priced by the helper's view: the slot holds a dependency
    the contract reads (STATICCALL), not an owner."""
    helper, feed = "0x" + "5a" * 20, "0x" + "6b" * 20
    set_feed = call(helper, VICTIM, "0x55b775ea", name="setFeed")
    price = call(VICTIM, helper, "0xa035b1fe", kind="STATICCALL")
    borrow = call(helper, VICTIM, "0xc5ebeaec", calls=[price, call(VICTIM, helper, value=ETHER)])
    replay = result(
        call(EOA, helper, "0x52fba25c", calls=[set_feed, borrow]),
        changes={VICTIM: (ETHER, 0)},
        storage={VICTIM: ({SLOT: word(feed)}, {SLOT: word(helper)})},
    )
    assert access_control.detect(replay) == []
    [finding] = missing_access_control.detect(replay, [])
    assert finding.vulnerability_class is VulnerabilityClass.MISSING_ACCESS_CONTROL
    assert f"address state variable (slot {SLOT}) set to {helper}" in finding.evidence.signals
