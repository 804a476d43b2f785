"""Compound V2 and its forks (CREAM, …): `liquidateBorrow` on a cToken market.

Markets are discovered from the traces rather than listed: any contract receiving
`liquidateBorrow(address,uint256,address)` (or the CEther form `liquidateBorrow(address,address)`)
is a market, and the comptroller it consults (`liquidateBorrowAllowed`) names the protocol.
Compound's and CREAM's comptrollers are known; a market of an unknown comptroller is reported as a
`compound_v2` fork. The collateral seized is the first transfer to the liquidator or, when the
cTokens only change hands inside the market's books, the `seizeTokens` of its `seize` call.
"""

from __future__ import annotations

from timemachine.mev.abi import function
from timemachine.mev.classify import ClassifierSpec
from timemachine.mev.models import ETH_TOKEN_ADDRESS, Liquidation, Trace, Transfer
from timemachine.mev.specs.aave import first_transfer

LIQUIDATE_BORROW = function(
    "liquidateBorrow",
    ("borrower", "address"),
    ("repayAmount", "uint256"),
    ("cTokenCollateral", "address"),
)
LIQUIDATE_BORROW_ETH = function(
    "liquidateBorrow", ("borrower", "address"), ("cTokenCollateral", "address")
)
SEIZE = function(
    "seize", ("liquidator", "address"), ("borrower", "address"), ("seizeTokens", "uint256")
)
LIQUIDATE_BORROW_ALLOWED = function(
    "liquidateBorrowAllowed",
    ("cTokenBorrowed", "address"),
    ("cTokenCollateral", "address"),
    ("liquidator", "address"),
    ("borrower", "address"),
    ("repayAmount", "uint256"),
)

COMPTROLLERS: dict[str, str] = {
    "0x3d9819210a31b4961b30ef54be2aed79b9c9cd3b": "compound_v2",  # Compound Unitroller
    "0x3d5bc3c8d13dcb8bf317092d84783c2697ae9258": "cream",  # CREAM Unitroller
}


def market_protocol(trace: Trace, children: list[Trace]) -> str:
    """The protocol of the market `trace` calls, from the comptroller it asks for permission."""
    market = trace.to_address
    for child in children:
        if (
            child.from_address == market
            and child.call_type != "delegatecall"
            and child.input.startswith(LIQUIDATE_BORROW_ALLOWED.selector)
        ):
            return COMPTROLLERS.get(child.to_address or "", "compound_v2")
    return "compound_v2"


def compound_liquidation(
    trace: Trace, children: list[Trace], transfers: list[Transfer]
) -> Liquidation | None:
    liquidator = trace.from_address or ""
    inputs = trace.inputs or {}
    market = trace.to_address or ""
    collateral = inputs["cTokenCollateral"]
    if trace.function_signature == LIQUIDATE_BORROW_ETH.signature and trace.value != 0:
        debt_token, debt_amount = ETH_TOKEN_ADDRESS, trace.value
    else:
        debt_token, debt_amount = market, inputs.get("repayAmount", trace.value)
    debt = first_transfer(transfers, from_address=liquidator)
    if debt is not None:
        debt_token, debt_amount = debt.token_address, debt.amount
    received = first_transfer(transfers, to_address=liquidator)
    received_token = collateral
    if received is not None:
        received_token, received_amount = received.token_address, received.amount
    else:
        seizes = [child for child in children if child.kind == "seize" and child.inputs]
        seize = next((s for s in seizes if s.to_address == collateral), None) or next(
            iter(seizes), None
        )
        if seize is None or seize.inputs is None:
            return None
        received_amount = seize.inputs["seizeTokens"]
    return Liquidation(
        liquidated_user=inputs["borrower"],
        liquidator_user=liquidator,
        debt_token_address=debt_token,
        debt_purchase_amount=debt_amount,
        received_amount=received_amount,
        received_token_address=received_token,
        protocol=market_protocol(trace, children),
        transaction_hash=trace.transaction_hash or "",
        trace_address=list(trace.trace_address),
        block_number=trace.block_number,
        error=trace.error,
    )


SPECS = (
    ClassifierSpec(
        "CToken",
        "compound_v2",
        [(LIQUIDATE_BORROW, "liquidate"), (LIQUIDATE_BORROW_ETH, "liquidate"), (SEIZE, "seize")],
        liquidation=compound_liquidation,
    ),
)
