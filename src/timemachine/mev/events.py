"""What gets pushed to `/ws/mev` subscribers: one event per MEV instance found in a block."""

from __future__ import annotations

from typing import Any

from timemachine.mev.models import BlockInspection

MEV_CHANNEL = "mev"
"""The event-bus channel of `/ws/mev`."""


def mev_events(chain_id: int, result: BlockInspection) -> list[dict[str, Any]]:
    """One bus event per MEV instance of a block (swaps alone are not MEV)."""
    base = {"type": "mev", "chain_id": chain_id, "block_number": result.block_number}
    events: list[dict[str, Any]] = []
    for arb in result.arbitrages:
        events.append(base | {"kind": "arbitrage", "transaction_hash": arb.transaction_hash,
                              "searcher": arb.account_address, "error": arb.error,
                              "profit_token_address": arb.profit_token_address,
                              "profit_amount": arb.profit_amount})  # fmt: skip
    for sandwich in result.sandwiches:
        events.append(base | {"kind": "sandwich",
                              "transaction_hash": sandwich.frontrun_swap.transaction_hash,
                              "searcher": sandwich.sandwicher_address,
                              "profit_token_address": sandwich.profit_token_address,
                              "profit_amount": sandwich.profit_amount})  # fmt: skip
    for liq in result.liquidations:
        events.append(base | {"kind": "liquidation", "transaction_hash": liq.transaction_hash,
                              "searcher": liq.liquidator_user,
                              "protocol": liq.protocol})  # fmt: skip
    for jit in result.jit_liquidity:
        events.append(base | {"kind": "jit_liquidity",
                              "transaction_hash": jit.mint_transaction_hash,
                              "searcher": jit.bot_address,
                              "pool_address": jit.pool_address})  # fmt: skip
    return events
