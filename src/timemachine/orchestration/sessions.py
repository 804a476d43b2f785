"""What a replay session does, from its stored request to its stored results.

`run_session` is what a worker executes. It is idempotent: it first claims the session (pending,
or running under an expired lease because its worker died) and then replays it from the start,
progress back to 0 and partial results overwritten; a finished session, or one another live
worker holds, is left alone (a duplicate delivery). Engine errors end the session `failed` with
their one-line message. `requeue_lost` is the sweeper that re-queues sessions of dead workers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from timemachine.analysis import analyze
from timemachine.catalog.devnet import DEVNET_CHAIN_ID
from timemachine.errors import InvalidInputError, NotFoundError, SessionStopped, TimeMachineError
from timemachine.logs import get_logger
from timemachine.models.analysis import AnalysisReport
from timemachine.models.replay import ReplayResult
from timemachine.models.requests import (
    ExploitAnalysisRequest,
    ExploitReplayRequest,
    ReplayOptions,
    TransactionsReplayRequest,
)
from timemachine.models.sessions import ReplaySessionRecord, SessionKind, SessionStatus
from timemachine.orchestration.leases import Lease, new_holder
from timemachine.orchestration.progress import Reporter, stops_when_gone
from timemachine.orchestration.runtime import EngineRuntime
from timemachine.orchestration.whatif_sessions import run_verify_fix, run_whatif
from timemachine.store import Database, ReplaySessions, get_exploit

log = get_logger(__name__)


MODIFIED_RUNS = {SessionKind.WHATIF: run_whatif, SessionKind.VERIFY_FIX: run_verify_fix}
"""Kinds run by `orchestration.whatif_sessions` (not a list of transactions to replay)."""


@dataclass(frozen=True)
class Plan:
    """The transactions a session replays, on which chain, and how."""

    chain_id: int
    tx_hashes: list[str]
    options: ReplayOptions
    analysis_depth: str | None = None
    include_recommendations: bool = True


def plan_for(db: Database, runtime: EngineRuntime, record: ReplaySessionRecord) -> Plan:
    """Resolve a stored request into transactions; InvalidInputError/NotFoundError when it can't."""
    if record.kind is SessionKind.TRANSACTIONS:
        request = TransactionsReplayRequest.model_validate(record.request)
        chains = {tx.chain_id or DEVNET_CHAIN_ID for tx in request.transactions}
        if len(chains) != 1:
            raise InvalidInputError("all transactions of one request must be on the same chain")
        return Plan(chains.pop(), [tx.hash for tx in request.transactions], request.options)
    exploit_id = str(record.request.get("exploit_id", ""))
    with db.session() as s:
        exploit = get_exploit(s, exploit_id)
    if exploit is None:
        raise NotFoundError(f"no exploit {exploit_id!r} in the catalog")
    if exploit.replayable_offline:
        devnet = runtime.run(runtime.devnet())
        chain_id, txs = DEVNET_CHAIN_ID, [devnet.history.scenario(exploit.id).exploit_tx]
    else:
        if not exploit.attack_txs or exploit.chain_id is None:
            raise InvalidInputError(f"exploit {exploit.id} has no known attack transaction/chain")
        chain_id, txs = exploit.chain_id, list(exploit.attack_txs)
    if record.kind is SessionKind.ANALYSIS:
        body = {key: value for key, value in record.request.items() if key != "exploit_id"}
        analysis = ExploitAnalysisRequest.model_validate(body)
        deep = analysis.analysis_depth == "deep"
        return Plan(
            chain_id,
            txs,
            ReplayOptions(include_analysis=True, detailed_tracing=deep),
            analysis.analysis_depth,
            analysis.include_recommendations,
        )
    return Plan(chain_id, txs, ExploitReplayRequest.model_validate(record.request).options)


def _replay_payload(result: ReplayResult, plan: Plan) -> dict[str, Any]:
    exclude = None if plan.options.detailed_tracing else {"trace", "state_diff"}
    payload: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude=exclude)
    return payload


def _analysis_payload(report: AnalysisReport, plan: Plan) -> dict[str, Any]:
    exclude: dict[str, Any] = {}
    if plan.analysis_depth == "basic":
        exclude |= {"fund_flow": True, "balance_changes": True}
    if not plan.include_recommendations:
        exclude["findings"] = {"__all__": {"recommendation"}}
    payload: dict[str, Any] = report.model_dump(mode="json", exclude=exclude or None)
    return payload


def _claim(
    db: Database, session_id: str, holder: str, lease_seconds: float, task_id: str | None
) -> ReplaySessionRecord | None:
    """Take the session (pending, or running under an expired lease: its worker died). None when
    there is nothing to do: it ended, was deleted, or another live worker holds it (a duplicate
    delivery, e.g. a broker's redelivery after the sweeper re-queued it)."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        record = sessions.claim(
            session_id, holder=holder, lease_seconds=lease_seconds, task_id=task_id
        )
        if record is None:
            current = sessions.get(session_id)
            log.info(
                "task dropped: nothing to run",
                session_id=session_id,
                status=current.status.value if current else "unknown session",
            )
        return record


def run_session(
    db: Database, runtime: EngineRuntime, reporter: Reporter, *, task_id: str | None = None
) -> None:
    """Replay (and analyse) every transaction of the session, storing each result, while a
    heartbeat keeps this worker's lease on it (see `orchestration.leases`)."""
    holder = new_holder()
    seconds = runtime.settings.session_lease_seconds
    record = _claim(db, reporter.session_id, holder, seconds, task_id)
    if record is None:
        return
    with Lease(db, reporter.session_id, holder, seconds) as lease:
        _run_claimed(db, runtime, replace(reporter, lease=lease), record)


def requeue_lost(
    db: Database, max_attempts: int, enqueue: Callable[[ReplaySessionRecord], None]
) -> list[str]:
    """The sweeper: every running session whose lease expired goes back to pending and is
    queued again with `enqueue` (or fails after `max_attempts` runs); the ids re-queued."""
    with db.session() as s:
        expired = ReplaySessions(s).expired_leases()
    requeued = []
    for session_id in expired:
        with db.session() as s:
            record = ReplaySessions(s).requeue(session_id, max_attempts=max_attempts)
        if record is None:
            continue
        log.warning(
            "session's worker was lost",
            session_id=session_id,
            now=record.status.value,
            attempts=record.attempts,
        )
        if record.status is SessionStatus.PENDING:
            enqueue(record)
            requeued.append(session_id)
    return requeued


def _run_claimed(
    db: Database, runtime: EngineRuntime, reporter: Reporter, record: ReplaySessionRecord
) -> None:
    reporter.publish(record)
    try:
        if record.kind in MODIFIED_RUNS:
            MODIFIED_RUNS[record.kind](db, runtime, reporter, record)
            reporter.complete()
            return
        reporter.progress(1, "resolving transactions")
        plan = plan_for(db, runtime, record)
        machine = runtime.run(runtime.machine(plan.chain_id, owner=record.owner, db=db))
        count = len(plan.tx_hashes)
        for index, tx_hash in enumerate(plan.tx_hashes):
            reporter.progress(5 + 90 * index / count, f"replaying tx {index + 1}/{count}")
            result = runtime.run(machine.replay(tx_hash, mode=plan.options.mode))
            report = analyze(result) if plan.options.include_analysis else None
            with stops_when_gone(), db.session() as s:
                ReplaySessions(s).store_result(
                    reporter.session_id,
                    index,
                    tx_hash=tx_hash,
                    replay=_replay_payload(result, plan),
                    analysis=_analysis_payload(report, plan) if report else None,
                )
        reporter.complete()
    except SessionStopped as stopped:
        log.info("session stopped", session_id=reporter.session_id, reason=str(stopped))
    except TimeMachineError as exc:
        reporter.fail(str(exc))
