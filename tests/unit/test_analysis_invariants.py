"""Invariant breaks: token supply vs holders' balances, and a vault's share price jumping."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, VICTIM, call, result
from tests.unit.test_analysis_price_manipulation import transfer
from timemachine.analysis.invariants import InvariantBreak, invariant_breaks
from timemachine.models import BalanceChange, ReplayResult, TokenTransfer

SHARE = "0x00000000000000000000000000000000000000d5"
ASSET = "0x00000000000000000000000000000000000000d6"
ZERO = "0x" + "0" * 40


def test_holders_gaining_more_than_the_token_minted_break_the_supply_invariant() -> None:
    replay = result(call(EOA, VICTIM))
    replay.token_transfers = [
        TokenTransfer.model_validate(
            {"standard": "ERC20", "token": SHARE, "from": ZERO, "to": ATTACKER, "amount": 5}
        )
    ]
    replay.balance_changes = [
        BalanceChange(address=ATTACKER, asset=SHARE, before=0, after=500, delta=500),
        BalanceChange(address=EOA, asset=SHARE, before=10, after=10, delta=0),
    ]
    assert invariant_breaks(replay) == [
        InvariantBreak(
            "supply",
            SHARE,
            f"holders of {SHARE} gained 500 in total, but its events minted (net) only 5",
        )
    ]


def _deposit_then_redeem(paid_out: int) -> ReplayResult:
    """ATTACKER deposits 100 ASSET into VICTIM (a vault) for 100 shares, then redeems them for
    `paid_out` ASSET, in one transaction."""
    deposit = call(
        ATTACKER,
        VICTIM,
        "0xb6b55f25",
        calls=[
            transfer(ASSET, ATTACKER, VICTIM, 100, VICTIM),
            transfer(SHARE, ZERO, ATTACKER, 100, VICTIM),
        ],
    )
    redeem = call(
        ATTACKER,
        VICTIM,
        "0xdb006a75",
        calls=[
            transfer(SHARE, ATTACKER, ZERO, 100, VICTIM),
            transfer(ASSET, VICTIM, ATTACKER, paid_out),
        ],
    )
    return result(call(EOA, ATTACKER, calls=[deposit, redeem]))


def test_redeeming_at_a_higher_rate_than_minting_breaks_the_share_price() -> None:
    """VICTIM (a vault) mints 100 shares for 100 ASSET, then pays 300 ASSET for 100 shares."""
    assert invariant_breaks(_deposit_then_redeem(300)) == [
        InvariantBreak(
            "share_price",
            VICTIM,
            f"{VICTIM} minted shares at 1 underlying per share and redeemed them at 3 in the "
            "same transaction",
        )
    ]


def test_minting_and_redeeming_at_one_rate_holds() -> None:
    assert invariant_breaks(_deposit_then_redeem(100)) == []
