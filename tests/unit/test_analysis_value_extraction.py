"""Value extraction (the safety net) and missing access control on hand-built call trees."""

from __future__ import annotations

from eth_utils.crypto import keccak

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
from timemachine.analysis import analyze, missing_access_control, value_extraction
from timemachine.analysis.evidence import ECRECOVER
from timemachine.models import BalanceChange, ReplayResult, TokenTransfer
from timemachine.models.analysis import Amount, Evidence, SlotChange
from timemachine.models.taxonomy import VulnerabilityClass

SWEEP = "0x35faa416"
UPGRADE_TO = "0x3659cfe6"
IMPLEMENTATION = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc"
OWNER_OF = "0x8da5cb5b"


def word(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def sweep(
    *, storage: dict[str, tuple[dict[str, str], dict[str, str]]] | None = None, checks: bool = False
) -> ReplayResult:
    """EOA -> ATTACKER -> VICTIM.sweep(): VICTIM sends all its 10 ETH to ATTACKER."""
    inner = [call(VICTIM, ECRECOVER, kind="STATICCALL")] if checks else []
    paid = call(VICTIM, ATTACKER, value=10 * ETHER)
    entry = call(ATTACKER, VICTIM, SWEEP, calls=[*inner, paid])
    root = call(EOA, ATTACKER, "0x61461954", calls=[entry])
    return result(
        root,
        changes={VICTIM: (10 * ETHER, 0), ATTACKER: (0, 10 * ETHER)},
        transfers=[eth(VICTIM, ATTACKER, 10 * ETHER)],
        storage=storage,
    )


def test_a_sweep_by_a_caller_with_no_role_is_extraction_and_missing_access_control() -> None:
    replay = sweep()
    [extraction] = value_extraction.detect(replay, [])
    assert (extraction.vulnerability_class, extraction.severity) == (
        VulnerabilityClass.VALUE_EXTRACTION,
        "high",
    )
    assert extraction.title == f"Value extracted from {VICTIM}"
    assert extraction.evidence.amounts == [Amount(address=VICTIM, asset="ETH", amount=10 * ETHER)]
    assert extraction.evidence.frames == ["calls[0]"]
    [missing] = missing_access_control.detect(replay, [])
    assert (missing.detector, missing.vulnerability_class, missing.severity) == (
        "missing_access_control",
        VulnerabilityClass.MISSING_ACCESS_CONTROL,
        "critical",
    )
    assert missing.evidence.addresses == [VICTIM, ATTACKER]
    assert missing.evidence.signals[0] == "paid out value the caller never deposited"
    # analyze: the mechanism comes first; the extraction it explains follows and names it.
    findings = analyze(replay).findings
    assert [(f.detector, f.severity) for f in findings] == [
        ("missing_access_control", "critical"),
        ("value_extraction", "high"),
    ]
    assert findings[1].confidence < findings[0].confidence
    assert findings[1].evidence.signals[-1] == (
        f"explained by missing_access_control: {findings[0].title}"
    )


def test_a_caller_stored_in_the_contract_before_the_tx_is_a_role_holder() -> None:
    owner_slot = {"0x0": word(ATTACKER)}
    replay = sweep(storage={VICTIM: (owner_slot, {"0x0": word(ATTACKER)})})
    assert value_extraction.detect(replay, []) == []
    assert missing_access_control.detect(replay, []) == []


def test_a_payout_the_contract_debits_from_a_stored_claim_is_a_withdrawal() -> None:
    claim = {"0x" + "ab" * 32: hex(10 * ETHER)}
    replay = sweep(storage={VICTIM: (claim, {"0x" + "ab" * 32: "0x0"})})
    assert value_extraction.detect(replay, []) == []
    assert missing_access_control.detect(replay, []) == []


def test_a_payout_behind_a_signature_check_is_authorized() -> None:
    replay = sweep(checks=True)
    assert value_extraction.detect(replay, []) == []
    assert missing_access_control.detect(replay, []) == []


def test_a_swap_that_pays_the_pool_in_another_asset_is_no_extraction() -> None:
    replay = sweep()
    token = "0x00000000000000000000000000000000000000d7"
    replay.balance_changes.append(
        replay.balance_changes[0].model_copy(
            update={"asset": token, "before": 0, "after": 5, "delta": 5}
        )
    )
    assert value_extraction.detect(replay, []) == []


def test_an_upgrade_to_code_the_caller_deployed_is_missing_access_control() -> None:
    implementation = "0x00000000000000000000000000000000000000c7"
    deploy = call(ATTACKER, OTHER, kind="CREATE")
    entry = call(ATTACKER, VICTIM, UPGRADE_TO, name="upgradeTo")
    root = call(EOA, ATTACKER, calls=[deploy, entry])
    slots = ({IMPLEMENTATION: word(implementation)}, {IMPLEMENTATION: word(OTHER)})
    [finding] = missing_access_control.detect(result(root, storage={VICTIM: slots}), [])
    assert finding.severity == "critical"
    assert finding.evidence.frames == ["calls[1]"]
    assert finding.evidence.signals[0] == f"EIP-1967 implementation slot re-pointed to {OTHER}"
    assert finding.evidence.storage == [
        SlotChange(
            address=VICTIM, slot=IMPLEMENTATION, before=word(implementation), after=word(OTHER)
        )
    ]


def test_an_upgrade_to_code_deployed_before_is_low() -> None:
    """A governed upgrade looks the same when the role check read an unchanged slot."""
    implementation = "0x00000000000000000000000000000000000000c7"
    entry = call(ATTACKER, VICTIM, UPGRADE_TO, name="upgradeTo")
    root = call(EOA, ATTACKER, calls=[entry])
    slots = ({IMPLEMENTATION: word(implementation)}, {IMPLEMENTATION: word(OTHER)})
    [finding] = missing_access_control.detect(result(root, storage={VICTIM: slots}), [])
    assert finding.severity == "low"


def test_an_upgrade_after_an_owner_check_is_not_reported() -> None:
    implementation = "0x00000000000000000000000000000000000000c7"
    check = call(VICTIM, OTHER, OWNER_OF, kind="STATICCALL")
    entry = call(ATTACKER, VICTIM, UPGRADE_TO, name="upgradeTo", calls=[check])
    root = call(EOA, ATTACKER, calls=[entry])
    slots = ({IMPLEMENTATION: word(implementation)}, {IMPLEMENTATION: word(OTHER)})
    assert missing_access_control.detect(result(root, storage={VICTIM: slots}), []) == []


def test_tokens_minted_to_an_arbitrary_caller_and_sold_are_missing_access_control() -> None:
    token = "0x00000000000000000000000000000000000000d7"
    pool = "0x00000000000000000000000000000000000000d8"
    mint = call(ATTACKER, token, "0x40c10f19", name="mint").model_copy(
        update={"logs": [transfer_log(token, "0x" + "0" * 40, ATTACKER, 7)]}
    )
    sell = call(ATTACKER, pool, "0x022c0d9f", calls=[call(pool, ATTACKER, value=5 * ETHER)])
    root = call(EOA, ATTACKER, calls=[mint, sell])
    minted = TokenTransfer.model_validate(
        {"standard": "ERC20", "token": token, "from": "0x" + "0" * 40, "to": ATTACKER, "amount": 7}
    )
    sold = TokenTransfer.model_validate(
        {"standard": "ERC20", "token": token, "from": ATTACKER, "to": pool, "amount": 7}
    )
    replay = result(
        root,
        changes={pool: (10 * ETHER, 5 * ETHER)},
        transfers=[minted, sold, eth(pool, ATTACKER, 5 * ETHER)],
    )
    [finding] = missing_access_control.detect(replay, [])
    assert (finding.severity, finding.evidence.addresses) == ("high", [token, ATTACKER])
    assert finding.evidence.signals[0] == (
        "minted 7 base units to the caller, who paid nothing for them"
    )


def test_shares_minted_for_a_deposit_to_the_minting_contract_are_paid_for() -> None:
    """A staking contract the caller paid mints its share token to it: no free mint."""
    token = "0x00000000000000000000000000000000000000d7"
    mint = call(VICTIM, token, "0x40c10f19", name="mint").model_copy(
        update={"logs": [transfer_log(token, "0x" + "0" * 40, ATTACKER, 7)]}
    )
    stake = call(ATTACKER, VICTIM, "0x3a4b66f1", value=ETHER, calls=[mint])
    move = call(ATTACKER, token, "0xa9059cbb", name="transfer")  # the caller uses its shares
    replay = result(
        call(EOA, ATTACKER, calls=[stake, move]),
        changes={VICTIM: (0, ETHER)},
        transfers=[
            eth(ATTACKER, VICTIM, ETHER),
            TokenTransfer.model_validate(
                {
                    "standard": "ERC20",
                    "token": token,
                    "from": "0x" + "0" * 40,
                    "to": ATTACKER,
                    "amount": 7,
                }
            ),
        ],
    )
    assert missing_access_control.detect(replay, []) == []


def test_a_caller_with_a_stored_claim_in_an_address_keyed_mapping_is_a_depositor() -> None:
    """balances[ATTACKER] (a mapping declared at slot 3) was non-zero before and is settled."""
    key = int(ATTACKER, 16).to_bytes(32, "big") + (3).to_bytes(32, "big")
    slot = "0x" + keccak(key).hex()
    replay = sweep(storage={VICTIM: ({slot: hex(4 * ETHER)}, {slot: "0x0"})})
    assert value_extraction.detect(replay, []) == []
    assert missing_access_control.detect(replay, []) == []


def test_nfts_taken_under_a_mechanism_are_extraction_counted_by_ids() -> None:
    """VICTIM's collection of 2 ids both go to ATTACKER; a reentrancy finding names VICTIM."""
    nfts = [
        TokenTransfer.model_validate(
            {"standard": "ERC721", "token": VICTIM, "from": VICTIM, "to": ATTACKER, "amount": 1}
            | {"token_id": token_id}
        )
        for token_id in (1, 2)
    ]
    claim = call(ATTACKER, VICTIM, "0x4e71d92d", name="claim")
    replay = result(call(EOA, ATTACKER, "0x61461954", calls=[claim]), transfers=nfts)
    replay.balance_changes.append(
        BalanceChange(address=VICTIM, asset=VICTIM, before=2, after=0, delta=-2)
    )
    mechanism = (
        analyze(sweep()).findings[0].model_copy(update={"evidence": Evidence(addresses=[VICTIM])})
    )
    [finding] = value_extraction.detect(replay, [mechanism])
    assert finding.evidence.amounts == [Amount(address=VICTIM, asset=VICTIM, amount=2)]


def test_a_depositors_funds_passed_through_to_the_attacker_are_extraction() -> None:
    """OTHER deposits 5 TOKEN into VICTIM, which pays them to ATTACKER: VICTIM's net is 0, but it
    held the deposit; under a mechanism that names VICTIM it is reported, at least "medium"."""
    token = "0x00000000000000000000000000000000000000d7"
    moves = [(OTHER, VICTIM), (VICTIM, ATTACKER)]
    transfers = [
        TokenTransfer.model_validate(
            {"standard": "ERC20", "token": token, "from": a, "to": b, "amount": 5 * ETHER}
        )
        for a, b in moves
    ]
    deposit = call(OTHER, VICTIM, "0xb6b55f25", calls=[call(VICTIM, token, "0x23b872dd")])
    redeem = call(ATTACKER, VICTIM, "0xdb006a75", calls=[call(VICTIM, token, "0xa9059cbb")])
    replay = result(call(EOA, ATTACKER, "0x61461954", calls=[deposit, redeem]), transfers=transfers)
    mechanism = (
        analyze(sweep()).findings[0].model_copy(update={"evidence": Evidence(addresses=[VICTIM])})
    )
    [finding] = value_extraction.detect(replay, [mechanism])
    assert finding.severity == "medium"
    assert finding.evidence.amounts == [Amount(address=VICTIM, asset=token, amount=5 * ETHER)]
