"""Curve: `exchange` / `exchange_underlying` on the StableSwap pools, swap read from transfers.

The reference specs name the pools (the int128 `exchange` signature is shared by many unrelated
contracts); the extension accepts any other contract with a Curve exchange signature, including
the uint256-indexed crypto pools, as a Curve-style pool.
"""

from __future__ import annotations

from timemachine.mev.abi import Function, function
from timemachine.mev.classify import ClassifierSpec, addresses
from timemachine.mev.models import Kind, Swap, Trace, Transfer
from timemachine.mev.transfers import swap_from_pool_transfers

_INDEXES = (("i", "int128"), ("j", "int128"), ("dx", "uint256"), ("min_dy", "uint256"))
EXCHANGE = function("exchange", *_INDEXES)
EXCHANGE_UNDERLYING = function("exchange_underlying", *_INDEXES)
CRYPTO_EXCHANGE = function(
    "exchange", ("i", "uint256"), ("j", "uint256"), ("dx", "uint256"), ("min_dy", "uint256")
)

# (ABI name, pool address, has exchange_underlying)
POOLS: tuple[tuple[str, str, bool], ...] = (
    ("StableSwap3Pool", "0xbEbc44782C7dB0a1A60Cb6fe97d0b483032FF1C7", False),
    ("StableSwapAAVE", "0xDeBF20617708857ebe4F679508E7b7863a8A8EeE", True),
    ("StableSwapAETH", "0xA96A65c051bF88B4095Ee1f2451C2A9d43F53Ae2", False),
    ("StableSwapBUSD", "0x79a8C46DeA5aDa233ABaFFD40F3A0A2B1e5A4F27", True),
    ("StableSwapCompound", "0xA2B47E3D5c44877cca798226B7B8118F9BFb7A56", True),
    ("StableSwapEURS", "0x0Ce6a5fF5217e38315f87032CF90686C96627CAA", False),
    ("StableSwaphBTC", "0x4CA9b3063Ec5866A4B82E437059D2C43d1be596F", False),
    ("StableSwapIronBank", "0x2dded6Da1BF5DBdF597C45fcFaa3194e53EcfeAF", True),
    ("StableSwapLink", "0xf178c0b5bb7e7abf4e12a4838c7b7c5ba2c623c0", False),
    ("StableSwapPAX", "0x06364f10B501e868329afBc005b3492902d6C763", True),
    ("StableSwaprenBTC", "0x93054188d876f558f4a66B2EF1d97d16eDf0895B", False),
    ("StableSwaprETH", "0xF9440930043eb3997fc70e1339dBb11F341de7A8", False),
    ("StableSwapsAAVE", "0xEB16Ae0052ed37f479f7fe63849198Df1765a733", True),
    ("StableSwapsBTC", "0x7fC77b5c7614E1533320Ea6DDc2Eb61fa00A9714", False),
    ("StableSwapsETH", "0xc5424B857f758E906013F3555Dad202e4bdB4567", False),
    ("StableSwapstETH", "0xDC24316b9AE028F1497c275EB9192a3Ea0f67022", False),
    ("StableSwapsUSD", "0xA5407eAE9Ba41422680e2e00537571bcC53efBfD", True),
    ("StableSwapUSDT", "0x52EA46506B9CC5Ef470C5bf89f17Dc28bB35D85C", True),
    ("StableSwapY", "0x45F783CCE6B7FF23B2ab2D70e416cdb7D6055f51", True),
    ("StableSwapYv2", "0x8925D9d9B4569D737a48499DeF3f67BaA5a144b9", True),
    ("StableSwapbBTC", "0x071c661B4DeefB59E2a3DdB20Db036821eeE8F4b", True),
    ("StableSwapDUSD", "0x8038C01A0390a8c547446a0b2c18fc9aEFEcc10c", True),
    ("StableSwapGUSD", "0x4f062658EaAF2C1ccf8C8e36D6824CDf41167956", True),
    ("StableSwapHUSD", "0x3eF6A01A0f81D6046290f3e2A8c5b843e738E604", True),
    ("StableSwapLinkUSD", "0xE7a24EF0C5e95Ffb0f6684b813A78F2a3AD7D171", True),
    ("StableSwapMUSD", "0x8474DdbE98F5aA3179B3B3F5942D724aFcdec9f6", True),
    ("StableSwapoBTC", "0xd81dA8D904b52208541Bade1bD6595D8a251F8dd", True),
    ("StableSwappBTC", "0x7F55DDe206dbAD629C080068923b36fe9D6bDBeF", True),
    ("StableSwapRSV", "0xC18cC39da8b11dA8c3541C598eE022258F9744da", True),
    ("StableSwaptBTC", "0xC25099792E9349C7DD09759744ea681C7de2cb66", True),
    ("StableSwapUSD", "0x3E01dD8a5E1fb3481F0F589056b428Fc308AF0Fb", True),
    ("StableSwapUSD", "0x0f9cb53Ebe405d49A0bbdBD291A65Ff571bC83e1", True),
    ("StableSwapUSDP", "0x42d7025938bEc20B69cBae5A77421082407f053A", True),
    ("StableSwapUST", "0x890f4e345B1dAED0367A877a1612f86A1f86985f", True),
)


def curve_swap(trace: Trace, prior: list[Transfer], children: list[Transfer]) -> Swap | None:
    return swap_from_pool_transfers(trace, trace.from_address or "", prior, children)


_SWAPS: list[tuple[Function, Kind]] = [(EXCHANGE, "swap")]
_SWAPS_UNDERLYING: list[tuple[Function, Kind]] = [(EXCHANGE, "swap"), (EXCHANGE_UNDERLYING, "swap")]


def _pool_specs() -> tuple[ClassifierSpec, ...]:
    by_name: dict[tuple[str, bool], list[str]] = {}
    for name, address, underlying in POOLS:
        by_name.setdefault((name, underlying), []).append(address)
    return tuple(
        ClassifierSpec(
            name,
            "curve",
            _SWAPS_UNDERLYING if underlying else _SWAPS,
            addresses=addresses(*pools),
            swap=curve_swap,
        )
        for (name, underlying), pools in by_name.items()
    )


SPECS = _pool_specs()

EXTENSIONS = (
    ClassifierSpec(
        "CurvePool",
        "curve",
        [(EXCHANGE, "swap"), (EXCHANGE_UNDERLYING, "swap"), (CRYPTO_EXCHANGE, "swap")],
        swap=curve_swap,
        extension=True,
    ),
)
