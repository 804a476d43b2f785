"""The analysis layer: pure detectors over a `ReplayResult`, profit and fund flow, the report.

Every detector is a module with `NAME` and `detect(result) -> list[Finding]`; it reads only the
trace models and knows nothing about particular contracts, scenarios or chains. Follow-ups
(`FOLLOW_UPS`) also read the findings before them: missing access control and the value-extraction
safety net defer to a mechanism already found. `trace_only` screens call traces alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from timemachine.analysis import (
    access_control,
    arbitrary_call,
    flash_loan,
    governance,
    inflated_redemption,
    instant_yield,
    logic_flaw,
    missing_access_control,
    overflow,
    price_manipulation,
    reentrancy,
    share_inflation,
    signature_replay,
    value_extraction,
    vote_recycling,
)
from timemachine.analysis.evidence import naming_of, naming_scope
from timemachine.analysis.flows import fund_flow
from timemachine.analysis.profit import profit_report
from timemachine.models.analysis import AnalysisReport, Finding, severity_rank
from timemachine.models.replay import ReplayResult

Detector = Callable[[ReplayResult], list[Finding]]
FollowUp = Callable[[ReplayResult, list[Finding]], list[Finding]]

#: Every detector `analyze` runs, by name.
DETECTORS: dict[str, Detector] = {
    reentrancy.NAME: reentrancy.detect,
    access_control.NAME: access_control.detect,
    signature_replay.NAME: signature_replay.detect,
    overflow.NAME: overflow.detect,
    price_manipulation.NAME: price_manipulation.detect,
    flash_loan.NAME: flash_loan.detect,
    governance.NAME: governance.detect,
    vote_recycling.NAME: vote_recycling.detect,
    logic_flaw.NAME: logic_flaw.detect,
    arbitrary_call.NAME: arbitrary_call.detect,
    share_inflation.NAME: share_inflation.detect,
    inflated_redemption.NAME: inflated_redemption.detect,
}


#: Detectors that read the mechanism findings before them; they run after `DETECTORS`, in order.
FOLLOW_UPS: dict[str, FollowUp] = {
    instant_yield.NAME: instant_yield.detect,
    missing_access_control.NAME: missing_access_control.detect,
    value_extraction.NAME: value_extraction.detect,
}


def run_detectors(result: ReplayResult) -> list[Finding]:
    """Every finding of every detector, unsorted: the mechanisms, then the follow-ups."""
    findings = [finding for detect in DETECTORS.values() for finding in detect(result)]
    for follow_up in FOLLOW_UPS.values():
        findings += follow_up(result, findings)
    return findings


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then most confident."""
    return sorted(findings, key=lambda f: (severity_rank(f.severity), -f.confidence))


_TX_IDENTITY = ("tx_hash", "chain_id", "chain", "block_number", "sender", "to")
"""What a report repeats of the replayed transaction, under the same names."""


def analyze(result: ReplayResult, labels: Mapping[str, str] | None = None) -> AnalysisReport:
    """Run every detector and the profit and fund-flow analyses over one replayed transaction.

    Findings name tokens by symbol and decimals (see `naming_of`); `labels` also name addresses
    in the report's renderers."""
    naming = naming_of(result, labels)
    with naming_scope(naming):
        findings = run_detectors(result)
    identity = {name: getattr(result, name) for name in _TX_IDENTITY}
    return AnalysisReport(
        **identity,
        status=result.replayed.status,
        gas_used=result.replayed.gas_used,
        fidelity=result.fidelity.verdict,
        findings=sort_findings(findings),
        profit=profit_report(result),
        fund_flow=fund_flow(result),
        balance_changes=result.balance_changes,
        names=naming.names_for(result.trace, (change.asset for change in result.balance_changes)),
    )


__all__ = ["DETECTORS", "FOLLOW_UPS", "analyze", "naming_of", "run_detectors", "sort_findings"]
