"""The analysis layer: pure detectors over a `ReplayResult`, profit and fund flow, the report.

Every detector is a module with `NAME` and `detect(result) -> list[Finding]`; it reads only the
trace models and knows nothing about particular contracts, scenarios or chains.
"""

from __future__ import annotations

from collections.abc import Callable

from timemachine.analysis import (
    access_control,
    arbitrary_call,
    flash_loan,
    governance,
    logic_flaw,
    overflow,
    price_manipulation,
    reentrancy,
    share_inflation,
    signature_replay,
)
from timemachine.analysis.flows import fund_flow
from timemachine.analysis.profit import profit_report
from timemachine.models.analysis import AnalysisReport, Finding, severity_rank
from timemachine.models.replay import ReplayResult

Detector = Callable[[ReplayResult], list[Finding]]

#: Every detector `analyze` runs, by name.
DETECTORS: dict[str, Detector] = {
    reentrancy.NAME: reentrancy.detect,
    access_control.NAME: access_control.detect,
    signature_replay.NAME: signature_replay.detect,
    overflow.NAME: overflow.detect,
    price_manipulation.NAME: price_manipulation.detect,
    flash_loan.NAME: flash_loan.detect,
    governance.NAME: governance.detect,
    logic_flaw.NAME: logic_flaw.detect,
    arbitrary_call.NAME: arbitrary_call.detect,
    share_inflation.NAME: share_inflation.detect,
}


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then most confident."""
    return sorted(findings, key=lambda f: (severity_rank(f.severity), -f.confidence))


def analyze(result: ReplayResult) -> AnalysisReport:
    """Run every detector and the profit and fund-flow analyses over one replayed transaction."""
    findings = [finding for detect in DETECTORS.values() for finding in detect(result)]
    return AnalysisReport(
        tx_hash=result.tx_hash,
        chain_id=result.chain_id,
        chain=result.chain,
        block_number=result.block_number,
        sender=result.sender,
        to=result.to,
        status=result.replayed.status,
        gas_used=result.replayed.gas_used,
        fidelity=result.fidelity.verdict,
        findings=sort_findings(findings),
        profit=profit_report(result),
        fund_flow=fund_flow(result),
        balance_changes=result.balance_changes,
    )


__all__ = ["DETECTORS", "analyze", "sort_findings"]
