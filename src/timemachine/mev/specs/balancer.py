"""Balancer V1 pools (`swapExactAmountIn/Out` on any BPool) and, as an extension, the V2 Vault."""

from __future__ import annotations

from timemachine.mev.abi import function
from timemachine.mev.classify import ClassifierSpec, addresses
from timemachine.mev.models import Swap, Trace, Transfer
from timemachine.mev.transfers import swap_from_pool_transfers

_V1_ARGS = (
    ("tokenIn", "address"),
    ("tokenAmountIn", "uint256"),
    ("tokenOut", "address"),
    ("minAmountOut", "uint256"),
    ("maxPrice", "uint256"),
)
SWAP_EXACT_IN = function("swapExactAmountIn", *_V1_ARGS)
SWAP_EXACT_OUT = function(
    "swapExactAmountOut",
    ("tokenIn", "address"),
    ("maxAmountIn", "uint256"),
    ("tokenOut", "address"),
    ("tokenAmountOut", "uint256"),
    ("maxPrice", "uint256"),
)
VAULT = "0xba12222222228d8ba445958a75a0704d566bf2c8"
VAULT_SWAP = function(
    "swap",
    ("singleSwap", "(bytes32,uint8,address,address,uint256,bytes)"),
    ("funds", "(address,bool,address,bool)"),
    ("limit", "uint256"),
    ("deadline", "uint256"),
)


def v1_swap(trace: Trace, prior: list[Transfer], children: list[Transfer]) -> Swap | None:
    return swap_from_pool_transfers(trace, trace.from_address or "", prior, children)


def v2_swap(trace: Trace, prior: list[Transfer], children: list[Transfer]) -> Swap | None:
    """A Vault swap: tokens move between the Vault and the funds' sender and recipient; the
    pool is the first 20 bytes of the pool id."""
    inputs = trace.inputs or {}
    single, funds = inputs["singleSwap"], inputs["funds"]
    swap = swap_from_pool_transfers(trace, funds[2], prior, children, pool=VAULT)
    if swap is None:
        return None
    return swap.model_copy(update={"contract_address": "0x" + bytes(single[0])[:20].hex()})


SPECS = (
    ClassifierSpec(
        "BPool", "balancer_v1", [(SWAP_EXACT_IN, "swap"), (SWAP_EXACT_OUT, "swap")], swap=v1_swap
    ),
)

EXTENSIONS = (
    ClassifierSpec(
        "Vault",
        "balancer_v2",
        [(VAULT_SWAP, "swap")],
        addresses=addresses(VAULT),
        swap=v2_swap,
        extension=True,
    ),
)
