"""Inspect a block: classify its traces, then find swaps, arbitrages, sandwiches, liquidations,
JIT liquidity and miner payments, and summarise them. Pure: no I/O, no network."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from timemachine.mev.arbitrages import get_arbitrages
from timemachine.mev.classify import TraceClassifier
from timemachine.mev.jit import LiquidityEvent, get_jit_liquidity, liquidity_event
from timemachine.mev.liquidations import transaction_liquidations
from timemachine.mev.miner import miner_address, miner_payments
from timemachine.mev.models import (
    ETH_TOKEN_ADDRESS,
    WETH_TOKEN_ADDRESS,
    Arbitrage,
    Block,
    BlockInspection,
    BlockSummary,
    EthPrice,
    JitLiquidity,
    Liquidation,
    MinerPayment,
    Sandwich,
    Swap,
    Trace,
    Transfer,
    TypeSummary,
)
from timemachine.mev.sandwiches import get_sandwiches
from timemachine.mev.specs import ALL_SPECS
from timemachine.mev.swaps import transaction_swaps
from timemachine.mev.transfers import child_traces, get_transfer

ETH_LIKE = frozenset({ETH_TOKEN_ADDRESS, WETH_TOKEN_ADDRESS})


@lru_cache(maxsize=2)
def default_classifier(*, reference_only: bool = False) -> TraceClassifier:
    """Every protocol spec (or only those mev-inspect-py has, for one-to-one comparisons)."""
    return TraceClassifier(ALL_SPECS, reference_only=reference_only)


def transactions(block: Block) -> dict[str, list[Trace]]:
    """The block's traces per transaction, in transaction order, each in trace-address order."""
    grouped: dict[str, list[Trace]] = {}
    for trace in block.traces:
        if trace.transaction_hash is not None:
            group = grouped.get(trace.transaction_hash)
            if group is None:
                grouped[trace.transaction_hash] = [trace]
            else:
                group.append(trace)
    order = sorted(
        grouped.items(),
        key=lambda item: (
            item[1][0].transaction_position if item[1][0].transaction_position is not None else -1
        ),
    )
    for _, traces in order:
        traces.sort(key=_trace_address)  # already in order from nodes: a linear check
    return dict(order)


def _trace_address(trace: Trace) -> tuple[int, ...]:
    return trace.trace_address


def inspect_block(
    block: Block,
    *,
    classifier: TraceClassifier | None = None,
    reference_only: bool = False,
    miner_fallback: Callable[[int], str | None] | None = None,
) -> BlockInspection:
    """Everything MEV in one block of flat traces."""
    classifier = classifier or default_classifier(reference_only=reference_only)
    classifier.classify(block.traces)
    by_tx = transactions(block)
    swaps: list[Swap] = []
    liquidations: list[Liquidation] = []
    mints: list[LiquidityEvent] = []
    burns: list[LiquidityEvent] = []
    collects: dict[tuple[str, str], list[Transfer]] = {}
    for tx_hash, traces in by_tx.items():
        transfers = [
            get_transfer(trace, classifier)
            if trace.kind == "transfer" or (trace.value and trace.input == "0x")
            else None
            for trace in traces
        ]
        swaps.extend(transaction_swaps(traces, transfers, classifier))
        liquidations.extend(transaction_liquidations(traces, transfers, classifier))
        sender = traces[0].from_address
        for index, trace in enumerate(traces):
            if trace.kind not in ("mint", "burn", "collect") or trace.error is not None:
                continue
            children = child_traces(traces, index)
            inner = [t for t in transfers[index + 1 : index + 1 + len(children)] if t is not None]
            pool = trace.to_address or ""
            if trace.kind == "collect":
                collects.setdefault((tx_hash, pool), []).extend(
                    t for t in inner if t.from_address == pool
                )
            else:
                event = liquidity_event(trace, children, inner, sender)
                (mints if trace.kind == "mint" else burns).append(event)
    arbitrages = get_arbitrages(swaps)
    sandwiches = get_sandwiches(swaps)
    jit = get_jit_liquidity(mints, burns, collects, swaps)
    miner = miner_address(block, miner_fallback)
    payments = miner_payments(block, miner, by_tx)
    return _inspection(
        block.block_number, miner, swaps, arbitrages, sandwiches, liquidations, jit, payments
    )


def _inspection(
    block_number: int,
    miner: str | None,
    swaps: list[Swap],
    arbitrages: list[Arbitrage],
    sandwiches: list[Sandwich],
    liquidations: list[Liquidation],
    jit: list[JitLiquidity],
    payments: list[MinerPayment],
) -> BlockInspection:
    """The findings of a block (or of one transaction in it) with their summary."""
    return BlockInspection(
        block_number=block_number,
        miner_address=miner,
        swaps=swaps,
        arbitrages=arbitrages,
        sandwiches=sandwiches,
        liquidations=liquidations,
        jit_liquidity=jit,
        miner_payments=payments,
        summary=summarize(arbitrages, sandwiches, liquidations, jit, payments, miner),
    )


def _profits(items: list[tuple[str, int]], prices: Mapping[str, EthPrice]) -> TypeSummary:
    """Profit per token; in wei for ETH/WETH and for tokens `prices` prices (summed per token,
    then valued), the others listed as unpriced."""
    profit: dict[str, int] = {}
    for token, amount in items:
        profit[token] = profit.get(token, 0) + amount
    wei, priced, unpriced = 0, {}, []
    for token, amount in profit.items():
        if token in ETH_LIKE:
            wei += amount
        elif token in prices:
            wei += prices[token].value_of(amount)
            priced[token] = prices[token].basis
        else:
            unpriced.append(token)
    return TypeSummary(
        count=len(items), profit=profit, profit_eth=wei, priced=priced, unpriced=sorted(unpriced)
    )


def summarize(
    arbitrages: list[Arbitrage],
    sandwiches: list[Sandwich],
    liquidations: list[Liquidation],
    jit: list[JitLiquidity],
    payments: list[MinerPayment],
    miner: str | None,
    *,
    prices: Mapping[str, EthPrice] | None = None,
) -> BlockSummary:
    """MEV count and profit per type (per profit token, and in wei where it is ETH or WETH or
    `prices` prices it: `mev.prices`); liquidation and JIT profits are counted, not valued."""
    prices = prices or {}
    by_type = {
        "arbitrage": _profits(
            [(a.profit_token_address, a.profit_amount) for a in arbitrages if a.error is None],
            prices,
        ),
        "sandwich": _profits(
            [(s.profit_token_address, s.profit_amount) for s in sandwiches], prices
        ),
        "liquidation": TypeSummary(count=len(liquidations)),
        "jit_liquidity": TypeSummary(count=len(jit)),
    }
    by_type["arbitrage"].count = len(arbitrages)
    coinbase = sum(p.coinbase_transfer for p in payments)
    tips = sum(p.priority_fee for p in payments)
    return BlockSummary(
        mev_count=len(arbitrages) + len(sandwiches) + len(liquidations) + len(jit),
        by_type=by_type,
        miner_address=miner,
        coinbase_transfers=coinbase,
        priority_fees=tips,
        miner_revenue=coinbase + tips,
    )


def only_transaction(result: BlockInspection, tx_hash: str) -> BlockInspection:
    """A block's inspection reduced to what involves one transaction (its swaps, the
    arbitrages, sandwiches and JIT positions it takes part in, its liquidations and payment)."""
    swaps = [s for s in result.swaps if s.transaction_hash == tx_hash]
    arbitrages = [a for a in result.arbitrages if a.transaction_hash == tx_hash]
    sandwiches = [
        s
        for s in result.sandwiches
        if tx_hash
        in {
            s.frontrun_swap.transaction_hash,
            s.backrun_swap.transaction_hash,
            *(v.transaction_hash for v in s.sandwiched_swaps),
        }
    ]
    liquidations = [liq for liq in result.liquidations if liq.transaction_hash == tx_hash]
    jit = [
        j
        for j in result.jit_liquidity
        if tx_hash
        in {
            j.mint_transaction_hash,
            j.burn_transaction_hash,
            *(s.transaction_hash for s in j.swaps),
        }
    ]
    payments = [p for p in result.miner_payments if p.transaction_hash == tx_hash]
    return _inspection(
        result.block_number,
        result.miner_address,
        swaps,
        arbitrages,
        sandwiches,
        liquidations,
        jit,
        payments,
    )
