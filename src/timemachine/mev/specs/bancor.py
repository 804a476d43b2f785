"""Bancor: `convertByPath` on the BancorNetwork contract, swap read from the caller's transfers."""

from __future__ import annotations

from timemachine.mev.abi import function
from timemachine.mev.classify import ClassifierSpec, addresses
from timemachine.mev.models import Swap, Trace, Transfer
from timemachine.mev.transfers import swap_from_recipient_transfers

NETWORK = "0x2f9ec37d6ccfff1cab21733bdadede11c823ccb0"
CONVERT_BY_PATH = function(
    "convertByPath",
    ("_path", "address[]"),
    ("_amount", "uint256"),
    ("_minReturn", "uint256"),
    ("_beneficiary", "address"),
    ("_affiliateAccount", "address"),
    ("_affiliateFee", "uint256"),
)


def bancor_swap(trace: Trace, prior: list[Transfer], children: list[Transfer]) -> Swap | None:
    return swap_from_recipient_transfers(trace, NETWORK, trace.from_address or "", prior, children)


SPECS = (
    ClassifierSpec(
        "BancorNetwork",
        "bancor",
        [(CONVERT_BY_PATH, "swap")],
        addresses=addresses(NETWORK),
        swap=bancor_swap,
    ),
)
