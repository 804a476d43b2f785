"""Instant yield, an accounting flaw seen from the money alone: the attacker side put an amount of
an asset into a contract and, in the same transaction, took back many times that amount of the
same asset, through accounts that held no stored claim on the contract before the tx (a stake
moved to a fresh account that is credited rewards since time zero, a balance counted twice).

Signals: an `Extraction` that is no exchange (nothing else given in return) and no visible
entitlement (no signature, no role, no prior claim of the receivers); the receivers' gross take
is at least `MULTIPLE` times what the attacker side paid the contract in that asset in the tx.
A follow-up: it runs after the mechanism detectors and stays quiet when one of them already
explains the contract (a reentered withdrawal returns a multiple of the deposit too).
Severity from the contract's loss, class `logic_flaw`. Blind spots: positions opened in an
earlier transaction; a take paid in another asset than the stake.
"""

from __future__ import annotations

from fractions import Fraction

from timemachine.analysis.evidence import amount_text, severity_for_loss
from timemachine.analysis.relationships import extractions
from timemachine.analysis.value_extraction import explaining
from timemachine.models.analysis import Amount, Evidence, Finding
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

NAME = "instant_yield"
MULTIPLE = 10


def detect(result: ReplayResult, findings: list[Finding]) -> list[Finding]:
    """One finding per contract that paid a fresh account a multiple of the stake put in."""
    found: list[Finding] = []
    for item in extractions(result):
        if item.exchanged or item.entitled or explaining(findings, item.contract) is not None:
            continue
        grown = [
            (asset, taken, item.gave[asset])
            for asset, taken in item.taken.items()
            if item.gave.get(asset) and taken + item.gave[asset] >= MULTIPLE * item.gave[asset]
        ]
        if not grown:
            continue
        asset, taken, staked = max(grown, key=lambda row: row[1])
        multiple = float(Fraction(taken + staked, staked))
        receivers = ", ".join(item.receivers)
        signals = [
            f"the attacker side paid {item.contract} {amount_text(asset, staked)} and took back "
            f"{amount_text(asset, taken + staked)} in the same transaction ({multiple:.1f}x)",
            f"the receivers ({receivers}) held no stored claim on it before the transaction",
            "no signature, role or exchange entitled them to the difference",
        ]
        found.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.LOGIC_FLAW,
                severity=severity_for_loss(result, item.contract),
                confidence=0.6,
                title=f"{item.contract} paid {multiple:.1f}x a stake made in the same tx",
                explanation=(
                    f"{receivers} received {amount_text(asset, taken + staked)} from "
                    f"{item.contract} for {amount_text(asset, staked)} the attacker side put in "
                    "within the same transaction: the contract's accounting credited a position "
                    "opened moments before with value it never earned."
                ),
                recommendation=(
                    "Checkpoint every account whose balance changes (sender and recipient of a "
                    "transfer) before crediting rewards, and initialise a new account's reward "
                    "index to the current one."
                ),
                evidence=Evidence(
                    frames=item.entry_texts,
                    addresses=item.parties,
                    amounts=[Amount(address=item.contract, asset=asset, amount=taken)],
                    signals=signals,
                ),
            )
        )
    return found
