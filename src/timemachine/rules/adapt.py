"""Build a `RuleEvent` from what the project already computes: a `ReplayResult`, its
`AnalysisReport` and MEV inspections, so a rule can be dry-run on any replayed transaction
(`timemachine rules test FILE --tx HASH`) exactly as the monitor will feed it live."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from timemachine.mev.models import BlockInspection
from timemachine.models.analysis import AnalysisReport, Finding
from timemachine.models.replay import ReplayResult
from timemachine.models.trace import BalanceChange, LogEntry
from timemachine.rules.event import (
    DecodedCallArgs,
    Delta,
    EventLog,
    FindingFields,
    MevFields,
    RuleEvent,
    Simulation,
    Stage,
    TxFields,
)


def _log(entry: LogEntry) -> EventLog:
    decoded = entry.event
    return EventLog(
        address=entry.address,
        topics=tuple(entry.topics),
        name=decoded.name if decoded else None,
        args={a.name: a.value for a in decoded.args} if decoded else {},
    )


def deltas_of(changes: Iterable[BalanceChange]) -> tuple[Delta, ...]:
    """Balance changes as rule deltas (ETH is the asset "eth")."""
    return tuple(
        Delta(address=c.address, asset="eth" if c.asset == "ETH" else c.asset, delta=c.delta)
        for c in changes
    )


def findings_of(findings: Iterable[Finding]) -> tuple[FindingFields, ...]:
    """Detector findings as the fields a rule reads (`finding.class`, `finding.severity`)."""
    return tuple(
        FindingFields.model_validate(
            {
                "class": str(f.vulnerability_class),
                "severity": f.severity,
                "title": f.title,
                "detector": f.detector,
            }
        )
        for f in findings
    )


def _mev_of(block: BlockInspection) -> Iterator[tuple[set[str], MevFields]]:
    """Each MEV found in `block`: the transactions it involves and its rule fields."""
    for arb in block.arbitrages:
        token = arb.profit_token_address.lower()
        yield (
            {arb.transaction_hash},
            MevFields(type="arbitrage", profit=arb.profit_amount, profit_token=token),
        )
    for sandwich in block.sandwiches:
        hashes = {sandwich.frontrun_swap.transaction_hash, sandwich.backrun_swap.transaction_hash}
        token = sandwich.profit_token_address.lower()
        yield hashes, MevFields(type="sandwich", profit=sandwich.profit_amount, profit_token=token)
    for liquidation in block.liquidations:
        yield (
            {liquidation.transaction_hash},
            MevFields(
                type="liquidation",
                profit=liquidation.received_amount,
                profit_token=liquidation.received_token_address,
            ),
        )


def mev_fields(inspections: Iterable[BlockInspection], tx_hash: str) -> list[MevFields]:
    """The MEV the inspections found that involve `tx_hash` (as the bundle's type and profit)."""
    wanted = tx_hash.lower()
    return [
        fields
        for block in inspections
        for hashes, fields in _mev_of(block)
        if wanted in {h.lower() for h in hashes}
    ]


def event_from_replay(
    result: ReplayResult,
    report: AnalysisReport | None = None,
    *,
    stage: Stage = "mined",
    inspections: Iterable[BlockInspection] = (),
    links: dict[str, str] | None = None,
) -> RuleEvent:
    """The event a rule sees for a replayed transaction (at `stage`: a dry run can pretend the
    replay is the monitor's pending-pool simulation)."""
    trace = result.trace
    call = trace.decoded
    args: dict[str, Any] = {a.name: a.value for a in call.args} if call else {}
    return RuleEvent(
        stage=stage,
        chain=result.chain,
        chain_id=result.chain_id,
        block_number=result.block_number if stage == "mined" else None,
        tx=TxFields.model_validate(
            {
                "hash": result.tx_hash,
                "from": result.sender,
                "to": result.to,
                "value": trace.value,
                "gas": trace.gas or None,
                "input": trace.input,
            }
        ),
        call=DecodedCallArgs(name=call.name, signature=call.signature, args=args) if call else None,
        logs=tuple(_log(entry) for entry in result.replayed.logs),
        deltas=deltas_of(result.balance_changes),
        simulation=Simulation(
            success=result.replayed.status == 1,
            gas_used=result.replayed.gas_used,
            error=trace.revert_reason or trace.error,
        ),
        findings=findings_of(report.findings if report else ()),
        mev=tuple(mev_fields(inspections, result.tx_hash)),
        links=links or {},
    )
