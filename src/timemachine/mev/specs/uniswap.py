"""Uniswap V2 pairs (and every fork with the same pair ABI: SushiSwap, …) and Uniswap V3 pools.

Pools are recognised by their functions, not by address: any contract called with the V2 pair's
`swap(uint256,uint256,address,bytes)` or the V3 pool's `swap(address,bool,int256,uint160,bytes)`
is a pool, and its swap is read from the token transfers around the call. V3 `mint`, `burn` and
`collect` are classified too, for JIT-liquidity detection.
"""

from __future__ import annotations

from timemachine.mev.abi import function
from timemachine.mev.classify import ClassifierSpec
from timemachine.mev.models import Swap, Trace, Transfer
from timemachine.mev.transfers import swap_from_pool_transfers

V3_SWAP = function(
    "swap",
    ("recipient", "address"),
    ("zeroForOne", "bool"),
    ("amountSpecified", "int256"),
    ("sqrtPriceLimitX96", "uint160"),
    ("data", "bytes"),
)
V3_MINT = function(
    "mint",
    ("recipient", "address"),
    ("tickLower", "int24"),
    ("tickUpper", "int24"),
    ("amount", "uint128"),
    ("data", "bytes"),
)
V3_BURN = function("burn", ("tickLower", "int24"), ("tickUpper", "int24"), ("amount", "uint128"))
V3_COLLECT = function(
    "collect",
    ("recipient", "address"),
    ("tickLower", "int24"),
    ("tickUpper", "int24"),
    ("amount0Requested", "uint128"),
    ("amount1Requested", "uint128"),
)
V2_SWAP = function(
    "swap",
    ("amount0Out", "uint256"),
    ("amount1Out", "uint256"),
    ("to", "address"),
    ("data", "bytes"),
)


def v3_swap(trace: Trace, prior: list[Transfer], children: list[Transfer]) -> Swap | None:
    recipient = (trace.inputs or {}).get("recipient", trace.from_address or "")
    return swap_from_pool_transfers(trace, recipient, prior, children)


def v2_swap(trace: Trace, prior: list[Transfer], children: list[Transfer]) -> Swap | None:
    recipient = (trace.inputs or {}).get("to", trace.from_address or "")
    return swap_from_pool_transfers(trace, recipient, prior, children)


SPECS = (
    ClassifierSpec(
        "UniswapV3Pool",
        "uniswap_v3",
        [(V3_SWAP, "swap"), (V3_MINT, "mint"), (V3_BURN, "burn"), (V3_COLLECT, "collect")],
        swap=v3_swap,
    ),
    ClassifierSpec("UniswapV2Pair", "uniswap_v2", [(V2_SWAP, "swap")], swap=v2_swap),
)
