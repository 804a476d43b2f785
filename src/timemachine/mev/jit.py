"""JIT liquidity: a searcher mints concentrated liquidity in a Uniswap V3 pool, victims' swaps
trade through it, and the same searcher burns it later in the same block.

Mint and burn must be by the same owner (the pool's `msg.sender`, or the transaction sender
when the NonfungiblePositionManager holds the position) over the same tick range, with at least
one other account's swap in the pool between them. Amounts come from the pool's own return
values (`mint` and `burn` return amount0, amount1) and, where a node left no output, from the
token transfers into the pool during the mint and out of it by `collect`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from timemachine.mev.models import JitLiquidity, Swap, Trace, Transfer

POSITION_MANAGER = "0xc36442b4a4522e871399cd717abdd847ab11fe88"


@dataclass(slots=True)
class LiquidityEvent:
    """A V3 `mint` or `burn` (with its `collect` transfers) in one transaction."""

    trace: Trace
    owner: str
    amounts: tuple[int, int] | None
    transfers: list[Transfer]


def _two_words(output: str | None) -> tuple[int, int] | None:
    if not output or len(output) < 2 + 128:
        return None
    return int(output[2:66], 16), int(output[66:130], 16)


def liquidity_event(
    trace: Trace, children: Sequence[Trace], transfers: list[Transfer], tx_sender: str | None
) -> LiquidityEvent:
    owner = trace.from_address or ""
    if owner == POSITION_MANAGER and tx_sender:
        owner = tx_sender
    amounts = _two_words(trace.output) if trace.error is None else None
    del children
    return LiquidityEvent(trace, owner, amounts, transfers)


def _ticks(trace: Trace) -> tuple[int, int]:
    inputs = trace.inputs or {}
    return inputs.get("tickLower", 0), inputs.get("tickUpper", 0)


def get_jit_liquidity(
    mints: Sequence[LiquidityEvent],
    burns: Sequence[LiquidityEvent],
    collects: dict[tuple[str, str], list[Transfer]],
    swaps: Sequence[Swap],
) -> list[JitLiquidity]:
    """Pair each mint with the first later burn of the same owner, pool and ticks.

    `collects` maps (tx hash, pool) to the transfers out of the pool by `collect` calls."""
    found: list[JitLiquidity] = []
    used: set[int] = set()
    for mint in mints:
        pool = mint.trace.to_address or ""
        for burn in burns:
            if id(burn) in used or burn.trace.to_address != pool or burn.owner != mint.owner:
                continue
            if (burn.trace.transaction_position or 0) <= (mint.trace.transaction_position or 0):
                continue
            if _ticks(burn.trace) != _ticks(mint.trace):
                continue
            low = mint.trace.transaction_position or 0
            high = burn.trace.transaction_position or 0
            victims = [
                swap
                for swap in swaps
                if swap.contract_address == pool
                and low < swap.transaction_position < high
                and mint.owner not in (swap.from_address, swap.to_address)
            ]
            if not victims:
                continue
            jit = _build(
                mint, burn, collects.get((burn.trace.transaction_hash or "", pool), []), victims
            )
            if jit is not None:
                found.append(jit)
                used.add(id(burn))
                break
    return found


def _build(
    mint: LiquidityEvent, burn: LiquidityEvent, collected: list[Transfer], victims: list[Swap]
) -> JitLiquidity | None:
    pool = mint.trace.to_address or ""
    tokens = sorted(
        {t.token_address for t in mint.transfers if t.to_address == pool}
        | {s.token_in_address for s in victims}
        | {s.token_out_address for s in victims}
    )
    if len(tokens) != 2:
        return None
    token0, token1 = tokens

    def paid(token: str) -> int:
        return sum(
            t.amount for t in mint.transfers if t.to_address == pool and t.token_address == token
        )

    def taken(token: str) -> int:
        return sum(t.amount for t in collected if t.token_address == token)

    mint0, mint1 = mint.amounts if mint.amounts is not None else (paid(token0), paid(token1))
    burn0, burn1 = burn.amounts if burn.amounts is not None else (taken(token0), taken(token1))

    def volume(token: str) -> int:
        return sum(
            s.token_in_amount if s.token_in_address == token else s.token_out_amount
            for s in victims
        )

    return JitLiquidity(
        block_number=mint.trace.block_number,
        bot_address=mint.owner,
        pool_address=pool,
        mint_transaction_hash=mint.trace.transaction_hash or "",
        mint_trace=list(mint.trace.trace_address),
        burn_transaction_hash=burn.trace.transaction_hash or "",
        burn_trace=list(burn.trace.trace_address),
        swaps=victims,
        token0_address=token0,
        token1_address=token1,
        mint_token0_amount=mint0,
        mint_token1_amount=mint1,
        burn_token0_amount=burn0,
        burn_token1_amount=burn1,
        token0_swap_volume=volume(token0),
        token1_swap_volume=volume(token1),
    )
