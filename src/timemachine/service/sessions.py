"""What a replay session does, from its stored request to its stored results.

`run_session` is what a worker executes. It is idempotent: a redelivered task (its worker died)
finds the session running and replays it again, overwriting partial results; a finished
session is left alone. Engine errors end the session `failed` with their one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from timemachine.service.progress import Reporter, stops_when_gone
from timemachine.service.runtime import EngineRuntime
from timemachine.service.whatif_sessions import run_verify_fix, run_whatif
from timemachine.store import Database, ReplaySessions, get_exploit

log = get_logger(__name__)


MODIFIED_RUNS = {SessionKind.WHATIF: run_whatif, SessionKind.VERIFY_FIX: run_verify_fix}
"""Kinds run by `service.whatif_sessions` (not a list of transactions to replay)."""


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


def _begin(db: Database, session_id: str, task_id: str | None) -> ReplaySessionRecord | None:
    """pending → running; a redelivered task finds it running and goes on. None when there is
    nothing to do: the session ended already, or was deleted (or never existed here)."""
    with db.session() as s:
        sessions = ReplaySessions(s)
        record = sessions.get(session_id)
        if record is None:
            log.warning("task for an unknown session dropped", session_id=session_id)
            return None
        if record.status.is_terminal:
            return None
        if record.status is SessionStatus.PENDING:
            record = sessions.start(session_id, task_id=task_id)
        return record


def run_session(
    db: Database, runtime: EngineRuntime, reporter: Reporter, *, task_id: str | None = None
) -> None:
    """Replay (and analyse) every transaction of the session, storing each result."""
    record = _begin(db, reporter.session_id, task_id)
    if record is None:
        return
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
