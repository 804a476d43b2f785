"""Trace a replayed transaction on its fork and turn the engine output into our models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from timemachine.chain.blocks import parse_receipt, quantity
from timemachine.chain.registry import ChainInfo
from timemachine.models import (
    BalanceChange,
    CallFrame,
    ReceiptSummary,
    StateDiff,
    TokenTransfer,
)
from timemachine.models.replay import TokenPrice
from timemachine.ports import LiveFork
from timemachine.replay.precompiles import with_geth_precompile_errors
from timemachine.trace.balances import (
    ETH,
    EthCaller,
    pre_state_overrides,
    token_balance_changes,
)
from timemachine.trace.decoder import Decoder
from timemachine.trace.normalize import normalize_call_trace, normalize_prestate_diff
from timemachine.trace.prices import token_prices
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
    prices: list[TokenPrice]


async def trace_transaction(
    fork: LiveFork,
    decoder: Decoder,
    *,
    chain: ChainInfo,
    replay_hash: str,
    receipt: dict[str, Any],
    tx_gas: int,
    block_tag: str,
    balances_final: bool,
) -> TracedTx:
    """Call tree, state diff, transfers, balance changes and token prices of a tx mined on `fork`.

    `balances_final` says the tx is the last of its block, so state read at `block_tag` is the
    state right after it (and, under the diff's pre-state overrides, right before it); otherwise
    token balances are the Transfer-event nets and tokens are not priced.
    """
    with fork.crash_guard("tracing"):
        raw_call, raw_diff = await fork.trace(replay_hash, CALL_TRACER, PRESTATE_DIFF)
    trace = call_tree(raw_call, decoder, receipt, tx_gas)
    state_diff = normalize_prestate_diff(raw_diff)
    with fork.crash_guard("reading token balances and prices"):
        transfers, changes, prices = await read_token_state(
            fork.rpc,
            trace,
            state_diff,
            block_tag,
            chain=chain,
            balances_final=balances_final,
        )
    return TracedTx(
        receipt=parse_receipt(receipt),
        trace=trace,
        state_diff=state_diff,
        transfers=transfers,
        balance_changes=changes,
        prices=prices,
    )


async def read_token_state(
    caller: EthCaller,
    trace: CallFrame,
    state_diff: StateDiff,
    block_tag: str,
    *,
    chain: ChainInfo,
    balances_final: bool,
) -> tuple[list[TokenTransfer], list[BalanceChange], list[TokenPrice]]:
    """Transfers (with token metadata), balance changes (token balances read before and after
    the tx) and pre-tx prices of the tokens whose balances changed: every eth_call the analysis
    of a traced transaction makes (capsule export replays the same reads to record their state).
    """
    transfers, changes = await token_balance_changes(
        extract_transfers(trace), state_diff, caller, block_tag, balances_final=balances_final
    )
    prices: list[TokenPrice] = []
    if balances_final:
        tokens = sorted({change.asset for change in changes if change.asset != ETH})
        overrides = pre_state_overrides(state_diff) or None
        prices = await token_prices(
            caller, trace, tokens, chain.wrapped_native, block_tag, overrides, chain.v2_factories
        )
    return transfers, changes, prices


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
    trace = normalize_call_trace(with_geth_precompile_errors(raw_call), decoder, receipt_logs)
    return trace.model_copy(update={"gas": tx_gas, "gas_used": quantity(receipt["gasUsed"])})
