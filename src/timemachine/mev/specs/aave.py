"""Aave V1, V2 and V3 liquidations: `liquidationCall(collateral, debt, user, amount, receiveAToken)`
has the same signature on all three lending pools, so any contract receiving it is a pool.

The debt repaid is the first transfer from the liquidator inside the call; the collateral
received is the first transfer to it (an aToken moved with `transferOnLiquidation` counts).
"""

from __future__ import annotations

from timemachine.mev.abi import function
from timemachine.mev.classify import ClassifierSpec
from timemachine.mev.models import Liquidation, Trace, Transfer

LIQUIDATION_CALL = function(
    "liquidationCall",
    ("_collateral", "address"),
    ("_reserve", "address"),
    ("_user", "address"),
    ("_purchaseAmount", "uint256"),
    ("_receiveAToken", "bool"),
)
TRANSFER_ON_LIQUIDATION = function(
    "transferOnLiquidation", ("from", "address"), ("to", "address"), ("value", "uint256")
)


def first_transfer(
    transfers: list[Transfer], *, to_address: str | None = None, from_address: str | None = None
) -> Transfer | None:
    for transfer in transfers:
        if (to_address is None or transfer.to_address == to_address) and (
            from_address is None or transfer.from_address == from_address
        ):
            return transfer
    return None


def aave_liquidation(
    trace: Trace, children: list[Trace], transfers: list[Transfer]
) -> Liquidation | None:
    del children
    liquidator = trace.from_address or ""
    inputs = trace.inputs or {}
    debt = first_transfer(transfers, from_address=liquidator)
    received = first_transfer(transfers, to_address=liquidator)
    if debt is None or received is None:
        return None
    return Liquidation(
        liquidated_user=inputs["_user"],
        liquidator_user=liquidator,
        debt_token_address=debt.token_address,
        debt_purchase_amount=debt.amount,
        received_amount=received.amount,
        received_token_address=received.token_address,
        protocol="aave",
        transaction_hash=trace.transaction_hash or "",
        trace_address=list(trace.trace_address),
        block_number=trace.block_number,
        error=trace.error,
    )


def atoken_transfer(trace: Trace) -> Transfer:
    inputs = trace.inputs or {}
    return Transfer(
        trace.transaction_hash or "",
        trace.trace_address,
        inputs["from"],
        inputs["to"],
        inputs["value"],
        trace.to_address or "",
    )


SPECS = (
    ClassifierSpec(
        "AaveLendingPool",
        "aave",
        [(LIQUIDATION_CALL, "liquidate")],
        liquidation=aave_liquidation,
    ),
    ClassifierSpec(
        "aTokens", "aave", [(TRANSFER_ON_LIQUIDATION, "transfer")], transfer=atoken_transfer
    ),
)
