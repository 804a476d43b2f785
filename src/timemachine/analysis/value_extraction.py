"""Value extraction, the safety net: an account with no prior relationship to a contract walked
away with value the contract held, whatever function did it (see `relationships` for what counts
as a relationship and as a fair exchange).

Runs after the mechanism detectors. Reported as `value_extraction`, one finding per contract,
largest priced amount first:

- explained: a mechanism finding above "low" names the contract. The extraction is reported
  whatever entitlement it showed (a reentered withdrawal debits a stored claim, a replayed
  signature verifies: the mechanism shows the entitlement was not real), unless the receiver's
  address was stored in the contract before the tx (a role holder). It references the mechanism
  and ranks under it (one severity step below, never below "medium"; lower confidence), so the
  mechanism stays the top finding.
- unexplained: reported, capped at "high", when it had no visible entitlement (a signature
  checked, a stored claim debited by exactly the amount, a receiver whose address the contract
  stored) and either drained the contract (>= 90% of what it held of an asset) or was an exchange
  worth well under what was taken.
"""

from __future__ import annotations

from timemachine.analysis.evidence import (
    amounts_text,
    confidence_from,
    severity_for_loss,
)
from timemachine.analysis.relationships import Extraction, extractions
from timemachine.models.analysis import (
    SEVERITY_ORDER,
    Evidence,
    Finding,
    Severity,
    severity_rank,
)
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

NAME = "value_extraction"


def explaining(findings: list[Finding], contract: str) -> Finding | None:
    """The most severe finding above "low" that names `contract`, if any."""
    named = [
        finding
        for finding in findings
        if severity_rank(finding.severity) < severity_rank("low")
        and (
            contract in finding.evidence.addresses
            or any(amount.address == contract for amount in finding.evidence.amounts)
        )
    ]
    return min(named, key=lambda f: (severity_rank(f.severity), -f.confidence), default=None)


def detect(result: ReplayResult, findings: list[Finding]) -> list[Finding]:
    """One finding per contract value was extracted from, largest priced amount first."""
    found: list[Finding] = []
    for extraction in extractions(result):
        mechanism = explaining(findings, extraction.contract)
        if mechanism is not None and not extraction.role_holder:
            found.append(_finding(result, extraction, mechanism))
        elif mechanism is None and extraction.suspicious:
            found.append(_finding(result, extraction, None))
    return found


def _under(mechanism: Severity, own: Severity) -> Severity:
    """`own`, capped one step below the mechanism's severity, and never below "medium" (the
    value may have passed through: a depositor's funds the contract held for a moment)."""
    medium = severity_rank("medium")
    cap = min(severity_rank(mechanism) + 1, medium)
    return SEVERITY_ORDER[min(max(severity_rank(own), cap), medium)]


def _finding(result: ReplayResult, item: Extraction, mechanism: Finding | None) -> Finding:
    severity: Severity = severity_for_loss(result, item.contract)
    signals = [
        f"{item.contract} lost {amounts_text(item.taken)} net to {', '.join(item.receivers)}",
        "the receivers neither created the contract in this transaction nor were stored in it",
    ]
    if not item.gave:
        signals.append("the receivers gave the contract nothing in return")
    if item.value_eth:
        signals.append(f"worth {item.value_eth} wei at pre-transaction prices")
    if item.drained:
        signals.append("it took nearly all the contract held of an asset")
    if item.unfair_exchange:
        signals.append("what the contract gained in return was worth well under what it lost")
    confidence = confidence_from(len(signals) - 2, base=0.3, step=0.1)
    if mechanism is None:
        severity = "high" if severity == "critical" else severity
        how = "by a mechanism no other detector recognized"
    else:
        signals.append(f"explained by {mechanism.detector}: {mechanism.title}")
        severity = _under(mechanism.severity, severity)
        confidence = min(confidence, round(mechanism.confidence - 0.05, 2))
        how = f"through {mechanism.vulnerability_class.value} ({mechanism.title})"
    return Finding(
        detector=NAME,
        vulnerability_class=VulnerabilityClass.VALUE_EXTRACTION,
        severity=severity,
        confidence=confidence,
        title=f"Value extracted from {item.contract}",
        explanation=(
            f"{', '.join(item.receivers)} took {amounts_text(item.taken)} that {item.contract} "
            f"held, with no prior relationship to it, {how}."
        ),
        recommendation=(
            "Find the function that paid out (frames listed) and make it pay only what the "
            "caller is entitled to: gate privileged transfers by role, debit the caller's "
            "recorded claim before paying, and price exchanges from manipulation-resistant data."
        ),
        evidence=Evidence(
            frames=item.entry_texts,
            addresses=item.parties,
            amounts=item.paid,
            signals=signals,
        ),
    )
