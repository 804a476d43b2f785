from __future__ import annotations

import pytest

from tests.unit.mev_traces import calldata
from timemachine.mev.abi import AbiDecodeError, function
from timemachine.mev.specs.balancer import VAULT_SWAP
from timemachine.mev.specs.bancor import CONVERT_BY_PATH
from timemachine.mev.specs.erc20 import TRANSFER
from timemachine.mev.specs.uniswap import V2_SWAP, V3_SWAP
from timemachine.mev.specs.zero_ex import FILL_RFQ

A = "0x" + "11" * 20
B = "0x" + "22" * 20


def test_selectors_are_keccak_of_the_canonical_signature() -> None:
    assert TRANSFER.selector == "0xa9059cbb"
    assert V2_SWAP.selector == "0x022c0d9f"
    assert V3_SWAP.selector == "0x128acb08"
    assert TRANSFER.flat
    assert V2_SWAP.flat  # a trailing bytes is read straight from the hex too
    assert not VAULT_SWAP.flat


def test_static_and_dynamic_inputs_decode() -> None:
    assert TRANSFER.decode(calldata(TRANSFER, A, 10**30)) == {"recipient": A, "amount": 10**30}
    decoded = V3_SWAP.decode(calldata(V3_SWAP, B, True, -5, 2**150, b"\x01\x02"))
    assert decoded == {
        "recipient": B,
        "zeroForOne": True,
        "amountSpecified": -5,
        "sqrtPriceLimitX96": 2**150,
        "data": b"\x01\x02",
    }
    path = [A, B, A]
    assert CONVERT_BY_PATH.decode(calldata(CONVERT_BY_PATH, path, 7, 6, B, A, 0))["_path"] == path
    pool_id = bytes.fromhex("33" * 20) + bytes(12)
    swap = VAULT_SWAP.decode(
        calldata(VAULT_SWAP, (pool_id, 0, A, B, 5, b""), (A, False, B, False), 1, 2)
    )
    assert swap["singleSwap"] == [pool_id, 0, A, B, 5, b""]
    assert swap["funds"] == [A, False, B, False]
    order = (A, B, 1, 2, A, B, A, bytes(32), 9, 8)
    rfq = FILL_RFQ.decode(calldata(FILL_RFQ, order, (1, 2, bytes(32), bytes(32)), 3))
    assert rfq["order"][5] == B
    assert rfq["takerTokenFillAmount"] == 3


@pytest.mark.parametrize(
    "data",
    [
        TRANSFER.selector + "ff" * 12 + "11" * 20 + "00" * 31 + "01",  # dirty address padding
        TRANSFER.selector + "00" * 12 + "11" * 20,  # too short
        TRANSFER.selector + "zz" * 64,  # not hex
    ],
)
def test_malformed_calldata_does_not_decode(data: str) -> None:
    with pytest.raises(AbiDecodeError):
        TRANSFER.decode(data)


def test_bool_and_small_ints_are_range_checked() -> None:
    flag = function("f", ("x", "bool"))
    with pytest.raises(AbiDecodeError):
        flag.decode(flag.selector + f"{2:064x}")
    small = function("g", ("x", "int24"))
    assert small.decode(small.selector + "f" * 58 + "ffffc4") == {"x": -60}
    with pytest.raises(AbiDecodeError):
        small.decode(small.selector + "0" * 56 + "01000000")
    bytes_arg = function("h", ("x", "bytes"))
    with pytest.raises(AbiDecodeError):  # length beyond the calldata
        bytes_arg.decode(bytes_arg.selector + f"{32:064x}" + f"{999:064x}")
