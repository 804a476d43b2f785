"""Decoder and signature table: real ABI encodings (eth_abi), collisions, garbage input."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from timemachine.errors import InvalidInputError
from timemachine.models import DecodedArg
from timemachine.trace.decoder import Decoder, panic_reason
from timemachine.trace.signatures import (
    Param,
    bundled_table,
    fragment_from_abi,
    parse_signature,
)

ALICE = "0x00000000000000000000000000000000000A11cE"
BOB = "0x0000000000000000000000000000000000000B0b"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


def topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


def calldata(signature: str, types: list[str], values: list[Any]) -> str:
    return selector(signature) + encode(types, values).hex()


def word(types: list[str], values: list[Any]) -> str:
    return "0x" + encode(types, values).hex()


def address_topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder()


# --- signatures ---------------------------------------------------------------------------------


def test_parse_event_keeps_indexed_flags_and_computes_topic() -> None:
    fragment = parse_signature(
        "event Transfer(address indexed from, address indexed to, uint256 value)"
    )
    assert fragment.kind == "event"
    assert fragment.signature == "Transfer(address,address,uint256)"
    assert fragment.inputs == (
        Param("from", "address", indexed=True),
        Param("to", "address", indexed=True),
        Param("value", "uint256"),
    )
    assert fragment.topic == "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


def test_parse_function_with_tuples_returns_and_aliases() -> None:
    fragment = parse_signature(
        "function aggregate3((address target, bool allowFailure, bytes callData)[] calls) payable "
        "returns ((bool success, bytes returnData)[] returnData)"
    )
    assert fragment.signature == "aggregate3((address,bool,bytes)[])"
    assert fragment.selector == "0x82ad56cb"
    assert fragment.outputs == (Param("returnData", "(bool,bytes)[]"),)
    assert (
        parse_signature("function f(uint x, int[2] memory y)").signature == "f(uint256,int256[2])"
    )


def test_fragment_from_json_abi_expands_tuple_components() -> None:
    entry = {
        "type": "function",
        "name": "exactInputSingle",
        "inputs": [
            {
                "name": "params",
                "type": "tuple",
                "components": [
                    {"name": "tokenIn", "type": "address"},
                    {"name": "fee", "type": "uint24"},
                ],
            }
        ],
        "outputs": [{"name": "amountOut", "type": "uint256"}],
    }
    fragment = fragment_from_abi(entry)
    assert fragment is not None
    assert fragment.signature == "exactInputSingle((address,uint24))"
    assert fragment_from_abi({"type": "constructor", "inputs": []}) is None


def test_bundled_table_covers_the_common_standards() -> None:
    table = bundled_table()
    assert len(table) > 300
    assert [f.name for f in table.lookup("function", "0xa9059cbb")] == ["transfer"]
    assert [f.name for f in table.lookup("function", "0xd0e30db0")] == ["deposit"]
    assert [f.name for f in table.lookup("function", "0x5cffe9de")] == ["flashLoan"]  # ERC-3156
    assert [f.name for f in table.lookup("function", "0x42b0b77c")] == ["flashLoanSimple"]
    assert [f.name for f in table.lookup("function", "0x5c38449e")] == ["flashLoan"]  # Balancer
    assert [f.name for f in table.lookup("event", topic("Upgraded(address)"))] == ["Upgraded"]
    withdrawal = table.lookup("event", topic("Withdrawal(address,uint256)"))
    assert [f.inputs[0].indexed for f in withdrawal] == [True]
    # ERC-20 and ERC-721 share Transfer's topic0 and differ by their indexed parameters.
    transfers = table.lookup("event", topic("Transfer(address,address,uint256)"))
    assert [sum(p.indexed for p in f.inputs) for f in transfers] == [2, 3]


# --- calls --------------------------------------------------------------------------------------


def test_erc20_transfer_call_with_output(decoder: Decoder) -> None:
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [BOB, 10**18])
    decoded = decoder.decode_call(data, word(["bool"], [True]))
    assert decoded is not None
    assert decoded.signature == "transfer(address,uint256)"
    assert decoded.name == "transfer"
    assert decoded.args == [
        DecodedArg(name="to", type="address", value=BOB),
        DecodedArg(name="value", type="uint256", value=10**18),
    ]
    assert decoded.outputs == [DecodedArg(name="", type="bool", value=True)]


def test_json_ready_values_for_nested_types(decoder: Decoder) -> None:
    types = ["(address,bool,bytes)[]"]
    data = (
        selector("aggregate3((address,bool,bytes)[])")
        + encode(types, [[(ALICE.lower(), True, b"\x12\x34")]]).hex()
    )
    decoded = decoder.decode_call(data)
    assert decoded is not None
    assert decoded.args[0].value == [[ALICE, True, "0x1234"]]
    assert decoded.outputs is None


def test_selector_collision_picks_the_candidate_that_round_trips(decoder: Decoder) -> None:
    data = calldata(
        "transferFrom(address,address,uint256)", ["address", "address", "uint256"], [ALICE, BOB, 7]
    )
    erc20 = decoder.decode_call(data, word(["bool"], [True]))
    erc721 = decoder.decode_call(data, "0x")
    assert erc20 is not None
    assert erc721 is not None
    assert [arg.name for arg in erc20.args] == ["from", "to", "value"]
    assert erc20.outputs == [DecodedArg(name="", type="bool", value=True)]
    assert [arg.name for arg in erc721.args] == ["from", "to", "tokenId"]
    assert erc721.outputs == []


def test_real_collision_prefers_exact_round_trip_over_registration_order() -> None:
    decoder = Decoder()
    # gasprice_bit_ether(int128) shares 0x23b872dd with transferFrom(address,address,uint256).
    decoder.register_signatures(["function gasprice_bit_ether(int128 x)"])
    data = calldata(
        "transferFrom(address,address,uint256)", ["address", "address", "uint256"], [ALICE, BOB, 7]
    )
    # The registered candidate decodes too (first word as int128) but leaves bytes unexplained.
    decoded = decoder.decode_call(data)
    assert decoded is not None
    assert decoded.signature == "transferFrom(address,address,uint256)"
    short = selector("gasprice_bit_ether(int128)") + encode(["int128"], [-5]).hex()
    only = decoder.decode_call(short)
    assert only is not None
    assert only.args == [DecodedArg(name="x", type="int128", value=-5)]


def test_collision_falls_through_to_the_candidate_that_decodes() -> None:
    decoder = Decoder()
    decoder.register_signatures(["function gasprice_bit_ether(int128 x)"])
    max_address = "0x" + "ff" * 20
    data = calldata(
        "transferFrom(address,address,uint256)",
        ["address", "address", "uint256"],
        [max_address, BOB, 7],
    )
    decoded = decoder.decode_call(data)  # 160 set bits are not a valid int128 word
    assert decoded is not None
    assert decoded.args[0].value == "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF"


def test_registered_abi_takes_precedence_over_the_bundled_table() -> None:
    decoder = Decoder()
    decoder.register_abi(
        [
            {
                "type": "function",
                "name": "transfer",
                "inputs": [
                    {"name": "recipient", "type": "address"},
                    {"name": "wad", "type": "uint256"},
                ],
                "outputs": [{"name": "ok", "type": "bool"}],
            },
            {"type": "receive", "stateMutability": "payable"},
        ]
    )
    data = calldata("transfer(address,uint256)", ["address", "uint256"], [BOB, 1])
    decoded = decoder.decode_call(data)
    assert decoded is not None
    assert [arg.name for arg in decoded.args] == ["recipient", "wad"]


def test_register_abi_rejects_malformed_entries() -> None:
    with pytest.raises(InvalidInputError, match="not an ABI type"):
        Decoder(bundled=False).register_abi(
            [{"type": "function", "name": "f", "inputs": [{"name": "x", "type": "uint7"}]}]
        )


def test_unknown_selector_and_garbage_give_none(decoder: Decoder) -> None:
    assert decoder.decode_call("0xdeadbeef" + "00" * 32) is None
    assert decoder.decode_call("0x") is None
    assert decoder.decode_call("0xa9059c") is None  # shorter than a selector
    assert decoder.decode_call("0xa9059cbbzz") is None  # not hex
    assert decoder.decode_call("0xa9059cbb0") is None  # odd length
    assert decoder.decode_call("0xa9059cbb" + "00" * 40) is None  # too short for the args
    # Address with dirty upper bytes: strict decoding refuses it.
    assert decoder.decode_call("0xa9059cbb" + "ff" * 32 + "00" * 32) is None


def test_output_that_does_not_decode_leaves_outputs_none(decoder: Decoder) -> None:
    data = calldata("balanceOf(address)", ["address"], [ALICE])
    decoded = decoder.decode_call(data, "0x1234")
    assert decoded is not None
    assert decoded.outputs is None


# --- events -------------------------------------------------------------------------------------


def test_erc20_transfer_event(decoder: Decoder) -> None:
    topics = [
        topic("Transfer(address,address,uint256)"),
        address_topic(ALICE),
        address_topic(BOB),
    ]
    event = decoder.decode_event(topics, word(["uint256"], [250]))
    assert event is not None
    assert event.name == "Transfer"
    assert event.args == [
        DecodedArg(name="from", type="address", value=ALICE),
        DecodedArg(name="to", type="address", value=BOB),
        DecodedArg(name="value", type="uint256", value=250),
    ]


def test_erc721_transfer_event_uses_the_three_indexed_candidate(decoder: Decoder) -> None:
    topics = [
        topic("Transfer(address,address,uint256)"),
        address_topic(ALICE),
        address_topic(BOB),
        word(["uint256"], [42]),
    ]
    event = decoder.decode_event(topics, "0x")
    assert event is not None
    assert event.arg("tokenId") == 42


def test_indexed_reference_types_are_kept_as_hashes() -> None:
    decoder = Decoder(bundled=False)
    decoder.register_signatures(["event Named(string indexed name, uint256 id)"])
    hashed = "0x" + keccak(text="alice").hex()
    event = decoder.decode_event([topic("Named(string,uint256)"), hashed], word(["uint256"], [3]))
    assert event is not None
    assert event.args == [
        DecodedArg(name="name", type="bytes32", value=hashed),
        DecodedArg(name="id", type="uint256", value=3),
    ]


def test_event_mismatches_give_none(decoder: Decoder) -> None:
    transfer = topic("Transfer(address,address,uint256)")
    # Topic count matching no candidate's indexed count.
    assert decoder.decode_event([transfer, address_topic(ALICE)], word(["uint256"], [1])) is None
    # Data too short for the non-indexed value.
    assert decoder.decode_event([transfer, address_topic(ALICE), address_topic(BOB)], "0x") is None
    # Malformed topics and data.
    assert decoder.decode_event([transfer, "0x1234", address_topic(BOB)], "0x") is None
    assert decoder.decode_event([], "0x") is None
    assert decoder.decode_event([transfer, address_topic(ALICE), address_topic(BOB)], "0xg") is None
    assert decoder.decode_event([topic("Nope()")], "0x") is None


# --- reverts ------------------------------------------------------------------------------------


def test_error_string(decoder: Decoder) -> None:
    output = "0x08c379a0" + encode(["string"], ["ERC20: transfer amount exceeds balance"]).hex()
    assert decoder.decode_revert(output) == "ERC20: transfer amount exceeds balance"


def test_panic_codes(decoder: Decoder) -> None:
    output = "0x4e487b71" + encode(["uint256"], [0x11]).hex()
    assert decoder.decode_revert(output) == "panic: arithmetic underflow or overflow (0x11)"
    assert panic_reason(0x12) == "panic: division or modulo by zero (0x12)"
    assert panic_reason(0x01) == "panic: assertion failed (0x01)"
    assert panic_reason(0x99) == "panic: unknown panic code (0x99)"


def test_custom_errors_registered_and_bundled(decoder: Decoder) -> None:
    bundled = (
        selector("ERC20InsufficientBalance(address,uint256,uint256)")
        + encode(["address", "uint256", "uint256"], [ALICE, 5, 10**18]).hex()
    )
    assert decoder.decode_revert(bundled) == (
        f"ERC20InsufficientBalance(sender={ALICE}, balance=5, needed=1000000000000000000)"
    )
    custom = Decoder(bundled=False)
    custom.register_abi(
        [
            {
                "type": "error",
                "name": "Slippage",
                "inputs": [
                    {"name": "pool", "type": "address"},
                    {"name": "", "type": "string"},
                    {"name": "path", "type": "uint24[]"},
                ],
            }
        ]
    )
    data = (
        selector("Slippage(address,string,uint24[])")
        + encode(["address", "string", "uint24[]"], [BOB, "too low", [500, 3000]]).hex()
    )
    assert custom.decode_revert(data) == f'Slippage(pool={BOB}, "too low", path=[500, 3000])'
    assert selector("TransferFailed()") == "0x90b8ec18"
    assert decoder.decode_revert("0x90b8ec18") == "TransferFailed()"


def test_unknown_and_garbage_reverts_give_none(decoder: Decoder) -> None:
    assert decoder.decode_revert("0xdeadbeef") is None
    assert decoder.decode_revert("0x") is None
    assert decoder.decode_revert(None) is None
    assert decoder.decode_revert("0x08c379a0" + "00" * 10) is None
    assert decoder.decode_revert("0x4e487b71") is None
    assert decoder.decode_revert("not hex") is None


def test_error_string_with_invalid_utf8_is_replaced(decoder: Decoder) -> None:
    output = "0x08c379a0" + encode(["bytes"], [b"bad \xff"]).hex()
    assert decoder.decode_revert(output) == "bad \ufffd"
