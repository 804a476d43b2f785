"""Our own datasets, each a column list (the schema, documented in docs/archive.md) and a
source reading one block range's records from the store.

Every row has a `block_number`, the key chunks are cut by. Rows that belong to a block (an
included transaction, MEV of an inspected block) carry that block. Rows that only have a time
(a dropped or replaced mempool transaction: when it settled; an alert: when it fired; a replay:
when it finished) carry the block of that time on the archived chain (`headers.BlockClock`), so
contiguous chunks hold every such row exactly once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from timemachine.archive.headers import BlockClock
from timemachine.archive.layout import BlockRange
from timemachine.archive.own.columns import Column
from timemachine.store.alerts import AlertRow
from timemachine.store.mev import MevResults
from timemachine.store.monitor import MonitoredTxRow
from timemachine.store.rows import MAX_PAGE
from timemachine.store.tables import ReplaySession, SessionResult


@dataclass(frozen=True)
class Scope:
    """What a source reads: one network's block range, and its clock for timed rows."""

    network: str
    chain_id: int
    blocks: BlockRange
    clock: BlockClock


Source = Callable[[Session, Scope], Iterator[dict[str, Any]]]


@dataclass(frozen=True)
class OwnDataset:
    name: str
    doc: str
    columns: tuple[Column, ...]
    source: Source


BLOCK = Column("block_number", "u32", "_block", "Block of the row (see the dataset's note).")
CHAIN_ID = Column("chain_id", "u64", "_chain_id")


# -- mempool_transactions ---------------------------------------------------------------------


def _first_provider(record: dict[str, Any]) -> str | None:
    seen: dict[str, float] = record.get("first_seen") or {}
    return min(seen, key=lambda label: (seen[label], label)) if seen else None


def _selector(record: dict[str, Any]) -> str | None:
    data = str(record["tx"].get("input") or "0x")
    return data[:10] if len(data) >= 10 else None


def _finding_classes(findings: list[dict[str, Any]] | None) -> list[str]:
    return [str(f.get("vulnerability_class")) for f in findings or []]


def _simulation(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda record: (record.get("simulation") or {}).get(key)


MEMPOOL = (
    BLOCK,
    CHAIN_ID,
    Column("transaction_hash", "binary", "tx.hash"),
    Column("from_address", "binary", "tx.sender"),
    Column("to_address", "binary", "tx.to"),
    Column("nonce", "u64", "tx.nonce"),
    Column("value", "u256", "tx.value"),
    Column("gas_limit", "u64", "tx.gas"),
    Column("gas_price", "u64", "tx.gas_price"),
    Column("max_fee_per_gas", "u64", "tx.max_fee_per_gas"),
    Column("max_priority_fee_per_gas", "u64", "tx.max_priority_fee_per_gas"),
    Column("transaction_type", "u32", "tx.type"),
    Column("input", "binary", "tx.input"),
    Column("selector", "binary", _selector, "First 4 bytes of the input (null: none)."),
    Column("kind", "string", "enrichment.kind", "transfer, swap, flash_loan, … (enrichment)."),
    Column("status", "string", "status", "Lifecycle outcome: included, replaced or dropped."),
    Column("included_block_hash", "binary", "block_hash"),
    Column("position", "u32", "position", "Index in the including block."),
    Column("inclusion_latency", "f64", "inclusion_latency", "Seconds, first sighting → head."),
    Column("replaced_by", "binary", "replaced_by"),
    Column("replacement", "string", "replacement", "speed_up, cancel or other."),
    Column("reorged", "u32", "reorged", "Times an including block was reorged out."),
    Column("first_seen", "f64", lambda r: min((r.get("first_seen") or {"": None}).values())),
    Column("first_provider", "string", _first_provider, "Provider that showed it first."),
    Column("providers", "strings", lambda r: sorted(r.get("first_seen") or {})),
    Column("simulated", "bool", lambda r: r.get("simulation") is not None),
    Column("simulation_success", "bool", _simulation("success")),
    Column("simulation_gas_used", "u64", _simulation("gas_used")),
    Column("simulation_error", "string", _simulation("error")),
    Column(
        "findings",
        "strings",
        lambda r: _finding_classes(_simulation("findings")(r)),
        "Vulnerability classes the simulation found, most severe first.",
    ),
    Column("settled_at", "f64", "updated_at", "Unix time of the outcome."),
)


def _mempool(s: Session, scope: Scope) -> Iterator[dict[str, Any]]:
    """Settled transactions: included in the range, or replaced/dropped within its window."""
    start, end = scope.clock.window
    included = and_(
        MonitoredTxRow.status == "included",
        MonitoredTxRow.block_number >= scope.blocks.start,
        MonitoredTxRow.block_number < scope.blocks.end,
    )
    gone = and_(
        MonitoredTxRow.status.in_(("replaced", "dropped")),
        MonitoredTxRow.updated_at >= start,
        MonitoredTxRow.updated_at < end,
    )
    statement = (
        select(
            MonitoredTxRow.status,
            MonitoredTxRow.block_number,
            MonitoredTxRow.updated_at,
            MonitoredTxRow.payload,
        )
        .where(MonitoredTxRow.chain == scope.network, or_(included, gone))
        .order_by(MonitoredTxRow.id)
    )
    for status, number, at, payload in s.execute(statement):
        yield {**payload, "_block": number if status == "included" else scope.clock.block_at(at)}


# -- mev --------------------------------------------------------------------------------------

_SWAP_MOVES = (
    Column("contract_address", "binary"),
    Column("from_address", "binary"),
    Column("to_address", "binary"),
    Column("token_in_address", "binary"),
    Column("token_in_amount", "u256"),
    Column("token_out_address", "binary"),
    Column("token_out_amount", "u256"),
)
MEV_SWAPS = (
    BLOCK,
    CHAIN_ID,
    Column("transaction_hash", "binary"),
    Column("transaction_position", "u32"),
    Column("trace_address", "u32s"),
    *_SWAP_MOVES,
    Column("abi_name", "string"),
    Column("protocol", "string"),
    Column("error", "string"),
)
MEV_ARBITRAGES = (
    BLOCK,
    CHAIN_ID,
    Column("transaction_hash", "binary"),
    Column("account_address", "binary"),
    Column("profit_token_address", "binary"),
    Column("start_amount", "u256"),
    Column("end_amount", "u256"),
    Column("profit_amount", "u256"),
    Column("protocols", "strings"),
    Column("swap_count", "u32", lambda r: len(r.get("swaps") or [])),
    Column("pools", "binaries", lambda r: [s["contract_address"] for s in r.get("swaps") or []]),
    Column("error", "string"),
)
MEV_SANDWICHES = (
    BLOCK,
    CHAIN_ID,
    Column("sandwicher_address", "binary"),
    Column("frontrun_transaction_hash", "binary", "frontrun_swap.transaction_hash"),
    Column("backrun_transaction_hash", "binary", "backrun_swap.transaction_hash"),
    Column(
        "sandwiched_transaction_hashes",
        "binaries",
        lambda r: [s["transaction_hash"] for s in r.get("sandwiched_swaps") or []],
    ),
    Column("contract_address", "binary", "frontrun_swap.contract_address", "The pool."),
    Column("profit_token_address", "binary"),
    Column("profit_amount", "u256"),
    Column("matched_amount", "u256"),
    Column("kind", "string"),
)
MEV_LIQUIDATIONS = (
    BLOCK,
    CHAIN_ID,
    Column("transaction_hash", "binary"),
    Column("trace_address", "u32s"),
    Column("liquidated_user", "binary"),
    Column("liquidator_user", "binary"),
    Column("debt_token_address", "binary"),
    Column("debt_purchase_amount", "u256"),
    Column("received_token_address", "binary"),
    Column("received_amount", "u256"),
    Column("protocol", "string"),
    Column("error", "string"),
)
MEV_JIT = (
    BLOCK,
    CHAIN_ID,
    Column("bot_address", "binary"),
    Column("pool_address", "binary"),
    Column("mint_transaction_hash", "binary"),
    Column("mint_trace", "u32s"),
    Column("burn_transaction_hash", "binary"),
    Column("burn_trace", "u32s"),
    Column("token0_address", "binary"),
    Column("token1_address", "binary"),
    *(
        Column(name, "u256")
        for name in (
            "mint_token0_amount",
            "mint_token1_amount",
            "burn_token0_amount",
            "burn_token1_amount",
            "token0_swap_volume",
            "token1_swap_volume",
        )
    ),
    Column("swap_count", "u32", lambda r: len(r.get("swaps") or [])),
)


def _mev(finding_type: str) -> Source:
    def source(s: Session, scope: Scope) -> Iterator[dict[str, Any]]:
        results, cursor = MevResults(s), None
        while True:
            page = results.query(
                scope.chain_id,
                type=finding_type,  # type: ignore[arg-type]
                from_block=scope.blocks.start,
                to_block=scope.blocks.end,
                cursor=cursor,
                limit=MAX_PAGE,
            )
            for item in page.items:
                yield {**item.payload, "_block": item.block_number}
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    return source


# -- alerts and replays: timed rows -----------------------------------------------------------

ALERTS = (
    BLOCK,
    CHAIN_ID,
    Column("alert_id", "string", "id"),
    Column("rule_id", "string"),
    Column("severity", "string"),
    Column("stage", "string", doc="pending, simulated, included, …: where the rule matched."),
    Column("transaction_hash", "binary", "tx_hash"),
    Column("alert_block_number", "u32", "block_number", "Block the alert names, if any."),
    Column("matches", "u32", doc="Matches the rule's window counted into this alert."),
    Column("evidence", "json", doc="What the rule saw, as JSON text."),
    Column("created_at", "f64", "_created_at", "Unix time it fired."),
    Column("acked", "bool", "_acked"),
)


def _alerts(s: Session, scope: Scope) -> Iterator[dict[str, Any]]:
    statement = select(AlertRow).where(AlertRow.chain == scope.network).order_by(AlertRow.id)
    for row in s.scalars(statement.where(*_between(AlertRow.created_at, scope))):
        at = row.created_at.timestamp()
        yield {
            **row.payload,
            "_block": scope.clock.block_at(at),
            "_created_at": at,
            "_acked": row.acked_at is not None,
        }


def _replay(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: ((r.get("replay") or {}).get("replayed") or {}).get(key)


def _original(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: ((r.get("replay") or {}).get("original") or {}).get(key)


def _analysis_findings(record: dict[str, Any]) -> list[str]:
    return _finding_classes((record.get("analysis") or {}).get("findings"))


def _top(key: str) -> Callable[[dict[str, Any]], Any]:
    def read(record: dict[str, Any]) -> Any:
        findings = (record.get("analysis") or {}).get("findings") or []
        return findings[0].get(key) if findings else None

    return read


REPLAYS = (
    BLOCK,
    CHAIN_ID,
    Column("session_id", "string"),
    Column("session_kind", "string", doc="exploit, transactions, analysis, whatif, verify_fix."),
    Column("tx_index", "u32", doc="Position of the transaction in the session."),
    Column("transaction_hash", "binary", "tx_hash"),
    Column("tx_block_number", "u32", "replay.block_number", "Block of the replayed tx."),
    Column("hardfork", "string", "replay.hardfork"),
    Column("mode", "string", "replay.mode", "exact or quick."),
    Column("verdict", "string", "replay.fidelity.verdict", "exact, diverged or unverified."),
    Column(
        "differences",
        "u32",
        lambda r: len((r.get("replay") or {}).get("fidelity", {}).get("differences") or []),
    ),
    Column("status", "u32", _replay("status"), "Replayed receipt status (1 success)."),
    Column("gas_used", "u64", _replay("gas_used"), "Replayed gas."),
    Column("original_status", "u32", _original("status")),
    Column("original_gas_used", "u64", _original("gas_used")),
    Column("findings", "strings", _analysis_findings, "Vulnerability classes, most severe first."),
    Column("top_severity", "string", _top("severity")),
    Column("top_detector", "string", _top("detector")),
    Column("finished_at", "f64", "_finished_at", "Unix time the session finished."),
)


def _replays(s: Session, scope: Scope) -> Iterator[dict[str, Any]]:
    """Completed sessions' per-transaction results on this network, by when they finished."""
    statement = (
        select(ReplaySession.id, ReplaySession.kind, ReplaySession.finished_at, SessionResult)
        .join(SessionResult, SessionResult.session_id == ReplaySession.id)
        .where(ReplaySession.status == "completed", *_between(ReplaySession.finished_at, scope))
        .order_by(ReplaySession.finished_at, ReplaySession.id, SessionResult.tx_index)
    )
    for session_id, kind, finished_at, result in s.execute(statement):
        replay = result.replay or {}
        if (replay.get("chain") or (result.analysis or {}).get("chain")) != scope.network:
            continue
        at = finished_at.timestamp() if finished_at is not None else 0.0
        yield {
            "session_id": session_id,
            "session_kind": kind,
            "tx_index": result.tx_index,
            "tx_hash": result.tx_hash,
            "replay": replay,
            "analysis": result.analysis,
            "_block": scope.clock.block_at(at),
            "_finished_at": at,
        }


def _between(column: Any, scope: Scope) -> list[Any]:
    start, end = scope.clock.window
    return [
        column >= dt.datetime.fromtimestamp(start, dt.UTC),
        column < dt.datetime.fromtimestamp(end, dt.UTC),
    ]


DATASETS: dict[str, OwnDataset] = {
    dataset.name: dataset
    for dataset in (
        OwnDataset(
            "mempool_transactions",
            "Mempool transactions the monitor followed, once settled: included (block_number is "
            "the including block), replaced or dropped (block_number: the block during which "
            "it settled).",
            MEMPOOL,
            _mempool,
        ),
        OwnDataset("mev_swaps", "Swaps (mev-inspect-py's fields).", MEV_SWAPS, _mev("swap")),
        OwnDataset("mev_arbitrages", "Arbitrages.", MEV_ARBITRAGES, _mev("arbitrage")),
        OwnDataset("mev_sandwiches", "Sandwiches.", MEV_SANDWICHES, _mev("sandwich")),
        OwnDataset("mev_liquidations", "Liquidations.", MEV_LIQUIDATIONS, _mev("liquidation")),
        OwnDataset("mev_jit", "JIT liquidity.", MEV_JIT, _mev("jit_liquidity")),
        OwnDataset(
            "alerts",
            "Alerts fired on this network (block_number: the block during which it fired).",
            ALERTS,
            _alerts,
        ),
        OwnDataset(
            "replays",
            "Per-transaction results of completed replay sessions of this network "
            "(block_number: the block during which the session finished; tx_block_number: "
            "the replayed transaction's).",
            REPLAYS,
            _replays,
        ),
    )
}
