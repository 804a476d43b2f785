"""Free-text vulnerability descriptions map to the fixed taxonomy by the ordered rule table."""

from __future__ import annotations

import pytest

from timemachine.models.taxonomy import VulnerabilityClass as V
from timemachine.models.taxonomy import classify_vulnerability


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Reentrancy", V.REENTRANCY),
        ("Read-only-Reentrancy", V.REENTRANCY),
        ("flashloan attack + reentrancy", V.REENTRANCY),
        ("Flashloan & price oracle manipulation", V.PRICE_MANIPULATION),
        ("Flashloan price manipulation", V.PRICE_MANIPULATION),
        ("TWAP oracle manipulation", V.PRICE_MANIPULATION),
        ("Skim token balance", V.PRICE_MANIPULATION),
        ("Flashloan attack", V.FLASH_LOAN),
        ("Integer Overflow", V.INTEGER_OVERFLOW),
        ("Integer Underflow", V.INTEGER_OVERFLOW),
        ("UnsafeCast", V.INTEGER_OVERFLOW),
        ("Access Control", V.ACCESS_CONTROL),
        ("lack-of-access-control", V.ACCESS_CONTROL),
        ("delegatecall to unprotected initWallet", V.ACCESS_CONTROL),
        ("Lack of permission check", V.ACCESS_CONTROL),
        ("Ownership override attack", V.ACCESS_CONTROL),
        ("Uninitialized Proxy", V.ACCESS_CONTROL),
        ("Signature Replay", V.SIGNATURE_REPLAY),
        ("ecrecover address(0) signature bypass", V.SIGNATURE_REPLAY),
        ("CompoundV2 Inflation Attack", V.SHARE_INFLATION),
        ("Donation attack", V.SHARE_INFLATION),
        ("Arbitrary external call vulnerability", V.ARBITRARY_CALL),
        ("Arbitrary-call", V.ARBITRARY_CALL),
        ("Access Control & Arbitrary External Call", V.ARBITRARY_CALL),
        ("Governance attack", V.GOVERNANCE_TAKEOVER),
        ("Malicious proposal & Price Oracle Manipulation", V.GOVERNANCE_TAKEOVER),
        ("Precision loss", V.PRECISION_LOSS),
        ("Precission loss", V.PRECISION_LOSS),
        ("Rounding error && Business Logic Flaw", V.PRECISION_LOSS),
        ("Compromised Private Key", V.PRIVATE_KEY_COMPROMISE),
        ("KeyCompromised", V.PRIVATE_KEY_COMPROMISE),
        ("Rug Pull", V.RUG_PULL),
        ("Malicious unlimted minting (Rugged)", V.RUG_PULL),
        ("Sandwich attack", V.FRONT_RUNNING),
        ("Lack of slippage protection", V.FRONT_RUNNING),
        ("MEV exploit", V.FRONT_RUNNING),
        ("Weak RNG", V.WEAK_RANDOMNESS),
        ("Insufficient validation", V.INPUT_VALIDATION),
        ("Unchecked user input", V.INPUT_VALIDATION),
        ("Business Logic Flaw", V.LOGIC_FLAW),
        ("Incorrect reward calculation", V.LOGIC_FLAW),
        ("Reflection token", V.LOGIC_FLAW),
        ("Bridge, logic flaw", V.LOGIC_FLAW),
        ("Unknown", V.OTHER),
        ("Storage collision", V.OTHER),
        ("Misconfiguration", V.OTHER),
        ("", V.OTHER),
    ],
)
def test_keyword_rules_in_order(text: str, expected: V) -> None:
    assert classify_vulnerability(text) is expected


def test_removeliquidity_is_not_mev() -> None:
    assert classify_vulnerability("Reentrancy in removeLiquidityViaContract") is V.REENTRANCY
    assert classify_vulnerability("removeLiquidity") is V.OTHER
