"""One spec module per protocol; `ALL_SPECS` is the classification order (first match wins).

To add a protocol: write `specs/<protocol>.py` with its `SPECS` (ABI functions, kinds, parsers;
an address filter only where the function is too generic to trust alone), and list it here.
"""

from __future__ import annotations

from timemachine.mev.classify import ClassifierSpec
from timemachine.mev.specs import aave, balancer, bancor, compound, curve, erc20, uniswap, zero_ex

ALL_SPECS: tuple[ClassifierSpec, ...] = (
    *erc20.SPECS,
    *curve.SPECS,
    *uniswap.SPECS,
    *aave.SPECS,
    *zero_ex.SPECS,
    *balancer.SPECS,
    *compound.SPECS,
    *bancor.SPECS,
    # Extensions last: they only see calls the reference specs left unclassified.
    *curve.EXTENSIONS,
    *balancer.EXTENSIONS,
)
