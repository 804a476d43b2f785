"""Miner payments: coinbase transfers and gas fees per transaction, and the block's miner."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pydantic import TypeAdapter

from timemachine.mev.models import Block, MinerPayment, Trace
from timemachine.mev.transfers import is_child, is_simple_eth_transfer

_PAYMENTS = TypeAdapter(list[MinerPayment])


def miner_address(block: Block, fallback: Callable[[int], str | None] | None = None) -> str | None:
    """The block's miner: the author of its `reward` trace; without one, the block header's miner
    (the document's `miner`, or `fallback(block_number)`, e.g. an `eth_getBlockByNumber`)."""
    for trace in block.traces:
        if trace.type == "reward" and trace.to_address:
            return trace.to_address
    if fallback is not None:
        return fallback(block.block_number)
    return block.miner


def miner_payments(
    block: Block, miner: str | None, by_tx: Mapping[str, Sequence[Trace]]
) -> list[MinerPayment]:
    """One row per receipt with traces: ETH sent to the miner by calls that did not fail, gas
    price, priority fee ((gas price - base fee) x gas used) and the effective price of both."""
    rows: list[dict[str, object]] = []
    for receipt in block.receipts:
        traces = by_tx.get(receipt.transaction_hash)
        if not traces or miner is None:
            continue
        failed: list[tuple[int, ...]] = []
        coinbase = 0
        for trace in traces:
            if trace.error is not None:
                failed.append(trace.trace_address)
                continue
            if (
                trace.to_address == miner
                and is_simple_eth_transfer(trace)
                and not any(is_child(trace.trace_address, f) for f in failed)
            ):
                coinbase += trace.value
        gas_cost = receipt.effective_gas_price * receipt.gas_used
        tip = max(receipt.effective_gas_price - block.base_fee_per_gas, 0) * receipt.gas_used
        first = traces[0]
        rows.append(
            dict(
                block_number=block.block_number,
                transaction_hash=receipt.transaction_hash,
                transaction_index=receipt.transaction_index,
                miner_address=miner,
                coinbase_transfer=coinbase,
                base_fee_per_gas=block.base_fee_per_gas,
                gas_price=receipt.effective_gas_price,
                gas_price_with_coinbase_transfer=(
                    (gas_cost + coinbase) // receipt.gas_used if receipt.gas_used else 0
                ),
                gas_used=receipt.gas_used,
                priority_fee=tip,
                transaction_to_address=first.to_address,
                transaction_from_address=first.from_address,
            )
        )
    return _PAYMENTS.validate_python(rows)  # one batch: far cheaper than a model per row
