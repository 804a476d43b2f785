"""The integer-overflow detector on hand-built call trees."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, VICTIM, call, result, transfer_log
from timemachine.analysis import overflow
from timemachine.models.analysis import Amount, SlotChange
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame, DecodedArg, DecodedCall, LogEntry

HALF = 2**255
Storage = dict[str, tuple[dict[str, str], dict[str, str]]]
SLOT = "0x" + "5a" * 32
OTHER_SLOT = "0x" + "5b" * 32


def batch(receivers: list[str], value: int) -> DecodedCall:
    return DecodedCall(
        signature="batchTransfer(address[],uint256)",
        name="batchTransfer",
        args=[
            DecodedArg(name="receivers", type="address[]", value=receivers),
            DecodedArg(name="value", type="uint256", value=value),
        ],
    )


def victim_transfer(source: str, target: str, amount: int) -> LogEntry:
    return transfer_log(VICTIM, source, target, amount)


def attack(value: int, *, logs: bool = True) -> CallFrame:
    """The attacker batch-transfers `value` to itself and EOA, then sells and is paid 10 ETH."""
    minted = call(ATTACKER, VICTIM, "0x83f12fec")
    minted.decoded = batch([ATTACKER, EOA], value)
    if logs:
        minted.logs = [
            victim_transfer(ATTACKER, ATTACKER, value),
            victim_transfer(ATTACKER, EOA, value),
        ]
    sell = call(ATTACKER, VICTIM, "0xe4849b32", calls=[call(VICTIM, ATTACKER, value=10 * ETHER)])
    return call(EOA, ATTACKER, "0xd018db3e", calls=[minted, sell])


def test_wrapped_batch_transfer_that_pays_out_is_critical() -> None:
    storage: Storage = {VICTIM: ({}, {SLOT: hex(HALF), OTHER_SLOT: hex(HALF - 10**22)})}
    replay = result(attack(HALF), changes={VICTIM: (10 * ETHER, 0)}, storage=storage)
    [finding] = overflow.detect(replay)
    assert finding.detector == "overflow"
    assert finding.vulnerability_class is VulnerabilityClass.INTEGER_OVERFLOW
    assert (finding.severity, finding.confidence) == ("critical", 0.95)
    assert finding.evidence.addresses == [VICTIM]
    assert finding.evidence.frames == ["calls[0]", "calls[1].calls[0]"]
    assert finding.evidence.storage == [
        SlotChange(address=VICTIM, slot=SLOT, before=None, after=hex(HALF)),
        SlotChange(address=VICTIM, slot=OTHER_SLOT, before=None, after=hex(HALF - 10**22)),
    ]
    assert finding.evidence.amounts == [
        Amount(address=VICTIM, asset="ETH", amount=10 * ETHER),
        Amount(address=ATTACKER, asset=VICTIM, amount=HALF),
        Amount(address=EOA, asset=VICTIM, amount=HALF),
        Amount(address=ATTACKER, asset="ETH", amount=10 * ETHER),
    ]
    assert finding.evidence.signals[0] == (
        f"calls[0]: 2 array items x {HALF} = {2**256} >= 2**256, wraps to 0"
    )
    assert len(finding.evidence.signals) == 4


def test_honest_batch_transfer_is_not_reported() -> None:
    replay = result(attack(100 * ETHER), changes={VICTIM: (10 * ETHER, 0)})
    assert overflow.detect(replay) == []


def test_wrap_without_a_loss_is_low() -> None:
    [finding] = overflow.detect(result(attack(HALF, logs=False)))
    assert (finding.severity, finding.confidence) == ("low", 0.5)
    assert finding.evidence.frames == ["calls[0]", "calls[1].calls[0]"]


def test_unlimited_allowance_and_lone_storage_jumps_are_not_reported() -> None:
    root = call(EOA, VICTIM, "0x095ea7b3")
    unlimited: Storage = {VICTIM: ({}, {SLOT: hex(2**256 - 1)})}
    assert overflow.detect(result(root, changes={VICTIM: (ETHER, 0)}, storage=unlimited)) == []
    jump: Storage = {VICTIM: ({}, {SLOT: hex(HALF)})}
    assert overflow.detect(result(root, storage=jump)) == []


def test_storage_jump_with_a_loss_alone_is_only_low() -> None:
    root = call(EOA, VICTIM, "0x095ea7b3", calls=[call(VICTIM, EOA, value=ETHER)])
    storage = {VICTIM: ({SLOT: "0x1"}, {SLOT: hex(HALF + 5)})}
    [finding] = overflow.detect(result(root, changes={VICTIM: (ETHER, 0)}, storage=storage))
    assert finding.severity == "low"
    assert finding.evidence.storage == [
        SlotChange(address=VICTIM, slot=SLOT, before="0x1", after=hex(HALF + 5))
    ]


def test_a_balance_decremented_past_zero_with_a_loss_is_an_underflow() -> None:
    """A balance of 0 sent 1 base unit unchecked wraps to 2**256 - 1 ... here 2**256 - 13: the
    contract then pays for the wrapped balance."""
    root = call(EOA, VICTIM, "0xdb006a75", calls=[call(VICTIM, EOA, value=ETHER)])
    storage: Storage = {VICTIM: ({}, {SLOT: hex(2**256 - 13)})}
    [finding] = overflow.detect(result(root, changes={VICTIM: (ETHER, 0)}, storage=storage))
    assert finding.severity == "critical"
    assert finding.evidence.signals[1] == (
        "1 of them went below zero (a small negative number in two's complement: decremented "
        "past zero without a check)"
    )
