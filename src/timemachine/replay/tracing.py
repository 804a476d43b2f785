"""Trace a replayed transaction on its fork and turn the engine output into our models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from timemachine.chain.blocks import parse_receipt, quantity
from timemachine.forks.manager import Fork
from timemachine.models import (
    BalanceChange,
    CallFrame,
    ReceiptSummary,
    StateDiff,
    TokenTransfer,
)
from timemachine.trace.balances import balance_changes, enrich_token_metadata
from timemachine.trace.decoder import Decoder
from timemachine.trace.normalize import normalize_call_trace, normalize_prestate_diff
from timemachine.trace.transfers import extract_transfers

CALL_TRACER = {"tracer": "callTracer", "tracerConfig": {"withLog": True}}
PRESTATE_DIFF = {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}


@dataclass(frozen=True)
class TracedTx:
    receipt: ReceiptSummary
    trace: CallFrame
    state_diff: StateDiff
    transfers: list[TokenTransfer]
    balance_changes: list[BalanceChange]


async def trace_transaction(
    fork: Fork,
    decoder: Decoder,
    *,
    replay_hash: str,
    receipt: dict[str, Any],
    tx_gas: int,
    block_tag: str,
    balances_final: bool,
) -> TracedTx:
    """Call tree, state diff, transfers and balance changes of a tx mined on `fork`.

    `balances_final` says the tx is the last of its block, so token balances read at `block_tag`
    are its after-balances (otherwise only deltas are reported for tokens).
    """
    with fork.crash_guard("tracing"):
        raw_call, raw_diff = await fork.rpc.batch(
            [
                ("debug_traceTransaction", [replay_hash, CALL_TRACER]),
                ("debug_traceTransaction", [replay_hash, PRESTATE_DIFF]),
            ]
        )
    trace = call_tree(raw_call, decoder, receipt, tx_gas)
    state_diff = normalize_prestate_diff(raw_diff)
    transfers = extract_transfers(trace)
    changes = balance_changes(transfers, state_diff)
    with fork.crash_guard("reading token metadata"):
        transfers, changes = await enrich_token_metadata(
            changes, transfers, fork.rpc, block_tag, balances_final=balances_final
        )
    return TracedTx(
        receipt=parse_receipt(receipt),
        trace=trace,
        state_diff=state_diff,
        transfers=transfers,
        balance_changes=changes,
    )


def call_tree(
    raw_call: dict[str, Any], decoder: Decoder, receipt: dict[str, Any], tx_gas: int
) -> CallFrame:
    """A callTracer result as a CallFrame, with log indexes and root gas taken from the receipt.

    anvil 1.7.1 reports the root frame's gas as 0 and, past the first tx of a block, its gasUsed
    as the block's cumulative gas; geth reports the tx gas limit and the receipt's gasUsed, which
    is what the root frame gets here whatever the engine said.
    """
    receipt_logs = [
        {**log, "logIndex": hex(position)} for position, log in enumerate(receipt.get("logs", []))
    ]
    trace = normalize_call_trace(raw_call, decoder, receipt_logs)
    return trace.model_copy(update={"gas": tx_gas, "gas_used": quantity(receipt["gasUsed"])})
