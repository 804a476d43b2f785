"""Inflated redemption on hand-built trees: a drain paid for with a one-unit claim."""

from __future__ import annotations

from eth_utils.crypto import keccak

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, VICTIM, call, eth, result
from timemachine.analysis import inflated_redemption
from timemachine.models.analysis import Amount
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

REDEEM = "0xdb006a75"


def redeem(claim_before: int, claim_after: int) -> ReplayResult:
    """ATTACKER redeems from VICTIM, which pays all its 10 ETH; shares[ATTACKER] (slot 2)
    goes from `claim_before` to `claim_after`."""
    slot = "0x" + keccak(int(ATTACKER, 16).to_bytes(32, "big") + (2).to_bytes(32, "big")).hex()
    paid = call(VICTIM, ATTACKER, value=10 * ETHER)
    root = call(EOA, ATTACKER, "0x61461954", calls=[call(ATTACKER, VICTIM, REDEEM, calls=[paid])])
    return result(
        root,
        changes={VICTIM: (10 * ETHER, 0), ATTACKER: (0, 10 * ETHER)},
        transfers=[eth(VICTIM, ATTACKER, 10 * ETHER)],
        storage={VICTIM: ({slot: hex(claim_before)}, {slot: hex(claim_after)})},
    )


def test_one_share_redeemed_for_the_whole_vault_is_share_inflation() -> None:
    [finding] = inflated_redemption.detect(redeem(1, 0))
    assert finding.vulnerability_class is VulnerabilityClass.SHARE_INFLATION
    assert (finding.severity, finding.evidence.addresses) == ("critical", [VICTIM, ATTACKER])
    assert finding.evidence.amounts == [Amount(address=VICTIM, asset="ETH", amount=10 * ETHER)]
    assert finding.evidence.signals[1] == (
        f"the receivers' stored claim fell by only 1 unit(s): {10 * ETHER} asset base units per "
        "unit, where a vault share starts near one"
    )


def test_a_last_holder_redeeming_shares_near_one_asset_unit_each_is_not_reported() -> None:
    assert inflated_redemption.detect(redeem(9 * ETHER, 0)) == []
