"""ERC-20 and WETH transfers: `transfer` and `transferFrom` on any contract."""

from __future__ import annotations

from timemachine.mev.abi import function
from timemachine.mev.classify import ClassifierSpec, addresses
from timemachine.mev.models import WETH_TOKEN_ADDRESS, Trace, Transfer

TRANSFER = function("transfer", ("recipient", "address"), ("amount", "uint256"))
TRANSFER_FROM = function(
    "transferFrom", ("sender", "address"), ("recipient", "address"), ("amount", "uint256")
)
WETH_TRANSFER = function("transfer", ("dst", "address"), ("wad", "uint256"))
WETH_TRANSFER_FROM = function(
    "transferFrom", ("src", "address"), ("dst", "address"), ("wad", "uint256")
)


def _transfer(trace: Trace, sender: str, recipient: str, amount: str) -> Transfer:
    """The Transfer a `transfer`/`transferFrom` call makes, its arguments named as given (a
    `transfer` has no sender argument: the caller sends)."""
    inputs = trace.inputs or {}
    return Transfer(
        trace.transaction_hash or "",
        trace.trace_address,
        inputs.get(sender, trace.from_address or ""),
        inputs[recipient],
        inputs[amount],
        trace.to_address or "",
    )


def erc20_transfer(trace: Trace) -> Transfer:
    return _transfer(trace, "sender", "recipient", "amount")


def weth_transfer(trace: Trace) -> Transfer:
    return _transfer(trace, "src", "dst", "wad")


SPECS = (
    ClassifierSpec(
        "ERC20",
        None,
        [(TRANSFER, "transfer"), (TRANSFER_FROM, "transfer")],
        transfer=erc20_transfer,
    ),
    # Never reached for these two selectors while ERC20 precedes it (same calls, same result);
    # kept so WETH is classified under its own ABI when the ERC20 spec is left out.
    ClassifierSpec(
        "WETH9",
        "weth",
        [(WETH_TRANSFER, "transfer"), (WETH_TRANSFER_FROM, "transfer")],
        addresses=addresses(WETH_TOKEN_ADDRESS),
        transfer=weth_transfer,
    ),
)
