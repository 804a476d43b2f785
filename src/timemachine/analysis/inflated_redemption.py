"""Inflated redemption, the cash-out half of a share-inflation (donation) attack, seen in one
transaction on any vault, including minimal-proxy clones and vaults that emit no ERC-4626 events.

Signals, from balances and the state diff: a contract paid a receiver nearly all it held of an
asset (>= 90%, an `Extraction` drain), and the receiver's stored claim on it (its entry in an
address-keyed mapping, see `relationships.mapping_slots`) fell by a tiny number of units in
return: at least `INFLATED` asset base units per claim unit. Vault shares start near one asset
unit each (virtual-share offsets make them cheaper, not dearer) and grow by yield, so a share
worth a billion asset units was inflated by a donation. Severity from the contract's loss.

Blind spots: claims stored outside slot-0..63 mappings (namespaced storage), shares held in a
separate ERC-20 contract, and a first-depositor attack cashed out before the donation shows.
"""

from __future__ import annotations

from timemachine.analysis.evidence import amounts_text, severity_for_loss
from timemachine.analysis.relationships import claim_changes, extractions
from timemachine.models.analysis import Evidence, Finding
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

NAME = "inflated_redemption"
INFLATED = 10**9
"""Asset base units per claim unit at or above which a share was inflated."""


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per drained contract whose receiver gave up a tiny claim for the assets."""
    findings: list[Finding] = []
    for item in extractions(result):
        if not item.drained or item.exchanged:
            continue
        burned = sum(
            before - after
            for receiver in item.receivers
            for before, after in claim_changes(result, item.contract, receiver)
            if before > after
        )
        largest = max(item.taken.values())
        if not burned or largest < INFLATED * burned:
            continue
        rate = largest // burned
        signals = [
            f"{item.contract} paid {amounts_text(item.taken)} to {', '.join(item.receivers)}, "
            "nearly all it held",
            f"the receivers' stored claim fell by only {burned} unit(s): {rate} asset base units "
            "per unit, where a vault share starts near one",
        ]
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.SHARE_INFLATION,
                severity=severity_for_loss(result, item.contract),
                confidence=0.65,
                title=f"Inflated share redeemed from {item.contract}",
                explanation=(
                    f"{', '.join(item.receivers)} redeemed {burned} unit(s) of its claim on "
                    f"{item.contract} for {amounts_text(item.taken)}: each unit was worth {rate} "
                    "asset base units, a price only a donation to the vault (inflating the share "
                    "price so that later deposits minted nothing) explains."
                ),
                recommendation=(
                    "Track deposited assets internally instead of reading the vault's balance, "
                    "or use virtual shares and assets (OpenZeppelin ERC4626 decimals offset), "
                    "and revert deposits that would mint zero shares."
                ),
                evidence=Evidence(
                    addresses=item.parties,
                    amounts=item.paid,
                    signals=signals,
                ),
            )
        )
    return findings
