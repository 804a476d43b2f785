"""0x native orders (limit and RFQ fills) on the Exchange Proxy.

The taker pays `takerTokenFillAmount` of the order's taker token; what the taker receives is the
transfer of the maker token to the taker (or, for an order open to any taker, the first transfer
of the maker token).
"""

from __future__ import annotations

from timemachine.mev.abi import function
from timemachine.mev.classify import ClassifierSpec
from timemachine.mev.models import Swap, Trace, Transfer
from timemachine.mev.transfers import make_swap

ANY_TAKER = "0x0000000000000000000000000000000000000000"
_LIMIT = (
    "(address,address,uint128,uint128,uint128,address,address,address,address,"
    "bytes32,uint64,uint256)"
)
_RFQ = "(address,address,uint128,uint128,address,address,address,bytes32,uint64,uint256)"
_SIGNATURE = "(uint8,uint8,bytes32,bytes32)"

FILL_LIMIT = function(
    "fillLimitOrder",
    ("order", _LIMIT),
    ("signature", _SIGNATURE),
    ("takerTokenFillAmount", "uint128"),
)
FILL_OR_KILL_LIMIT = function(
    "fillOrKillLimitOrder",
    ("order", _LIMIT),
    ("signature", _SIGNATURE),
    ("takerTokenFillAmount", "uint128"),
)
FILL_LIMIT_INTERNAL = function(
    "_fillLimitOrder",
    ("order", _LIMIT),
    ("signature", _SIGNATURE),
    ("takerTokenFillAmount", "uint128"),
    ("taker", "address"),
    ("sender", "address"),
)
FILL_RFQ = function(
    "fillRfqOrder", ("order", _RFQ), ("signature", _SIGNATURE), ("takerTokenFillAmount", "uint128")
)
FILL_RFQ_INTERNAL = function(
    "_fillRfqOrder",
    ("order", _RFQ),
    ("signature", _SIGNATURE),
    ("takerTokenFillAmount", "uint128"),
    ("taker", "address"),
    ("useSelfBalance", "bool"),
    ("recipient", "address"),
)
_RFQ_SIGNATURES = frozenset({FILL_RFQ.signature, FILL_RFQ_INTERNAL.signature})


def zero_ex_swap(trace: Trace, prior: list[Transfer], children: list[Transfer]) -> Swap | None:
    del prior
    if len(children) < 2:
        return None
    inputs = trace.inputs or {}
    order = inputs["order"]
    maker_token, taker_token = order[0], order[1]
    taker = order[5] if trace.function_signature in _RFQ_SIGNATURES else order[6]
    if trace.error is not None:
        amount_out = 0
    else:
        matching = [
            transfer
            for transfer in children
            if (
                transfer.token_address == maker_token
                if taker == ANY_TAKER
                else transfer.to_address == taker
            )
        ]
        if not matching:
            return None
        amount_out = matching[0].amount
    return make_swap(
        trace,
        contract=trace.to_address or "",
        from_address=trace.from_address or "",
        to_address=trace.to_address or "",
        token_in=(taker_token, inputs["takerTokenFillAmount"]),
        token_out=(maker_token, amount_out),
        protocol="0x",
    )


SPECS = (
    ClassifierSpec(
        "INativeOrdersFeature",
        "0x",
        [
            (FILL_OR_KILL_LIMIT, "swap"),
            (FILL_RFQ, "swap"),
            (FILL_LIMIT, "swap"),
            (FILL_RFQ_INTERNAL, "swap"),
            (FILL_LIMIT_INTERNAL, "swap"),
        ],
        swap=zero_ex_swap,
    ),
)
