"""callTracer / prestateTracer JSON into models: hex, checksums, decoding, log order and indexes."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak

from timemachine.hexutil import parse_int
from timemachine.models import AccountState, CallFrame, StateDiff
from timemachine.trace.decoder import Decoder
from timemachine.trace.normalize import (
    normalize_call_trace,
    normalize_prestate,
    normalize_prestate_diff,
)
from timemachine.trace.render import render_trace_plain
from timemachine.trace.transfers import extract_transfers

EOA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BANK = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
ATTACKER = "0x8464135c8F25Da09e49BC8782676a84730C318bC"
HELPER = "0x8398bCD4f633C72939F9043dB78c574A91C99c0A"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
IMPL = "0x0000000000000000000000000000000000001234"

WITHDRAW = "0x" + keccak(text="withdraw()")[:4].hex()
WITHDRAWN = "0x" + keccak(text="Withdrawn(address,uint256)").hex()
HIT = "0x" + keccak(text="Hit(uint256)").hex()
BORN = "0x" + keccak(text="Born(address)").hex()
SIGNATURES = [
    "function withdraw()",
    "event Withdrawn(address indexed user, uint256 amount)",
    "event Hit(uint256 n)",
    "event Born(address who)",
]


def word(types: list[str], values: list[Any]) -> str:
    return "0x" + encode(types, values).hex()


def topic_of(address: str) -> str:
    return "0x" + "00" * 12 + address[2:].lower()


def log(address: str, topics: list[str], data: str, position: str | None) -> dict[str, Any]:
    raw: dict[str, Any] = {"address": address.lower(), "topics": topics, "data": data}
    if position is not None:
        raw["position"] = position
    return raw


WITHDRAWN_LOG = log(BANK, [WITHDRAWN, topic_of(ATTACKER)], word(["uint256"], [10**18]), "0x1")
HIT_LOG = log(ATTACKER, [HIT], word(["uint256"], [1]), "0x0")
REVERTED_LOG = log(BANK, [WITHDRAWN, topic_of(ATTACKER)], word(["uint256"], [5]), "0x0")
BORN_LOG = log(HELPER, [BORN], word(["address"], [BANK]), None)

RAW: dict[str, Any] = {
    "type": "CALL",
    "from": EOA.lower(),
    "to": BANK.lower(),
    "value": "0x0",
    "gas": "0x7a120",
    "gasUsed": "0x148f5",
    "input": WITHDRAW,
    "logs": [WITHDRAWN_LOG],
    "calls": [
        {
            "type": "CALL",
            "from": BANK.lower(),
            "to": ATTACKER.lower(),
            "value": "0xde0b6b3a7640000",
            "gas": "0x6d60",
            "gasUsed": "0x1cb9",
            "input": "0x",
            "logs": [HIT_LOG],
            "calls": [
                {
                    "type": "CALL",
                    "from": ATTACKER.lower(),
                    "to": BANK.lower(),
                    "gas": "0x5000",
                    "gasUsed": "0x900",
                    "input": WITHDRAW,
                    "output": "0x08c379a0" + encode(["string"], ["reentrancy"]).hex(),
                    "error": "execution reverted",
                    "revertReason": "reentrancy",
                    "logs": [REVERTED_LOG],
                }
            ],
        },
        {
            "type": "CREATE2",
            "from": BANK.lower(),
            "to": HELPER.lower(),
            "value": "0x0",
            "gas": "0x30000",
            "gasUsed": "0x34d0",
            "input": "0x6080604052",
            "output": "0x6080604052348015",
            "logs": [BORN_LOG],
        },
        {
            "type": "STATICCALL",
            "from": BANK.lower(),
            "to": TOKEN.lower(),
            "gas": "0x2000",
            "gasUsed": "0xa8c",
            "input": "0x70a08231" + encode(["address"], [BANK]).hex(),
            "output": word(["uint256"], [7]),
        },
        {
            "type": "DELEGATECALL",
            "from": BANK.lower(),
            "to": IMPL,
            "gas": "0x100",
            "gasUsed": "0x100",
            "input": "0x12345678",
            "error": "out of gas",
        },
        {
            "type": "CALL",
            "from": BANK.lower(),
            "to": TOKEN.lower(),
            "gas": "0x100",
            "gasUsed": "0x80",
            "input": "0x",
            "output": "0xdeadbeef",
            "error": "execution reverted",
            "revertReason": "from the engine",
        },
    ],
}
RECEIPT_LOGS = [
    {**HIT_LOG, "logIndex": "0x10"},
    {**WITHDRAWN_LOG, "logIndex": "0x11"},
    {**BORN_LOG, "logIndex": "0x12"},
]


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    decoder = Decoder()
    decoder.register_signatures(SIGNATURES)
    return decoder


def indexes(frame: CallFrame) -> list[tuple[str, int | None]]:
    """(event name, index) for every log, in walk order (frame logs, then children)."""
    return [
        (entry.event.name if entry.event else "?", entry.index)
        for _, node in frame.walk()
        for entry in node.logs
    ]


def test_fields_are_parsed_and_checksummed(decoder: Decoder) -> None:
    trace = normalize_call_trace(RAW, decoder)
    assert (trace.type, trace.from_, trace.to) == ("CALL", EOA, BANK)
    assert (trace.value, trace.gas, trace.gas_used) == (0, 500_000, 84_213)
    assert trace.output is None
    assert trace.decoded is not None
    assert trace.decoded.signature == "withdraw()"
    receive = trace.calls[0]
    assert (receive.value, receive.input, receive.decoded) == (10**18, "0x", None)
    assert trace.logs[0].address == BANK
    assert trace.logs[0].event is not None
    assert trace.logs[0].event.arg("user") == ATTACKER
    assert trace.logs[0].event.arg("amount") == 10**18


def test_revert_reasons_and_output_decoding(decoder: Decoder) -> None:
    trace = normalize_call_trace(RAW, decoder)
    reverted = trace.calls[0].calls[0]
    assert (reverted.error, reverted.revert_reason) == ("execution reverted", "reentrancy")
    assert reverted.decoded is not None
    assert reverted.decoded.outputs is None  # a failed frame's output is revert data
    balance = trace.calls[2]
    assert balance.type == "STATICCALL"
    assert balance.decoded is not None
    assert [arg.value for arg in balance.decoded.outputs or []] == [7]
    out_of_gas = trace.calls[3]
    assert (out_of_gas.type, out_of_gas.error, out_of_gas.revert_reason) == (
        "DELEGATECALL",
        "out of gas",
        None,
    )
    # Undecodable revert data: the engine's revertReason is kept.
    assert trace.calls[4].revert_reason == "from the engine"


def test_create_frames_are_not_decoded(decoder: Decoder) -> None:
    create = normalize_call_trace(RAW, decoder).calls[1]
    assert (create.type, create.to, create.decoded, create.output) == (
        "CREATE2",
        HELPER,
        None,
        "0x6080604052348015",
    )


def test_receipt_log_indexes_follow_emission_order(decoder: Decoder) -> None:
    trace = normalize_call_trace(RAW, decoder, RECEIPT_LOGS)
    # Withdrawn (position 1) was emitted after the receive call, before the CREATE2.
    assert indexes(trace) == [
        ("Withdrawn", 0x11),
        ("Hit", 0x10),
        ("Withdrawn", None),  # emitted by a frame that reverted
        ("Born", 0x12),
    ]


def test_without_receipt_indexes_count_surviving_logs(decoder: Decoder) -> None:
    trace = normalize_call_trace(RAW, decoder)
    assert indexes(trace) == [("Withdrawn", 1), ("Hit", 0), ("Withdrawn", None), ("Born", 2)]


def test_receipt_mismatch_leaves_unmatched_logs_without_index(decoder: Decoder) -> None:
    receipt = [RECEIPT_LOGS[0], RECEIPT_LOGS[2]]  # the replay emitted a log the original did not
    trace = normalize_call_trace(RAW, decoder, receipt)
    assert indexes(trace) == [
        ("Withdrawn", None),
        ("Hit", 0x10),
        ("Withdrawn", None),
        ("Born", 0x12),
    ]


def test_logs_without_position_come_before_child_calls(decoder: Decoder) -> None:
    raw = {**RAW, "logs": [{**WITHDRAWN_LOG, "position": None}]}
    trace = normalize_call_trace(raw, decoder)
    assert indexes(trace) == [("Withdrawn", 0), ("Hit", 1), ("Withdrawn", None), ("Born", 2)]


def test_reverted_top_frame_has_no_indexed_logs(decoder: Decoder) -> None:
    trace = normalize_call_trace({**RAW, "error": "execution reverted"}, decoder, RECEIPT_LOGS)
    assert [index for _, index in indexes(trace)] == [None, None, None, None]


def test_parse_int_handles_quantities_and_garbage() -> None:
    assert [parse_int(v) for v in ("0x10", "0x", "16", 16, None, "0xzz", True)] == [
        16,
        0,
        16,
        16,
        0,
        0,
        0,
    ]


def test_prestate_diff() -> None:
    raw = {
        "pre": {
            BANK.lower(): {
                "balance": "0x4563918244f40000",
                "nonce": 1,
                "code": "0x6080",
                "storage": {"0x0": "0x01"},
            },
            HELPER.lower(): {},
        },
        "post": {
            BANK.lower(): {"balance": "0x3782dace9d900000", "storage": {"0x0": "0x0"}},
            HELPER.lower(): {"code": "0x60806040", "nonce": "0x1"},
        },
    }
    zero, one = "0x" + "00" * 32, "0x" + "00" * 31 + "01"
    assert normalize_prestate_diff(raw) == StateDiff(
        pre={
            BANK: AccountState(balance=5 * 10**18, nonce=1, code="0x6080", storage={zero: one}),
            HELPER: AccountState(),
        },
        post={
            BANK: AccountState(balance=4 * 10**18, storage={zero: zero}),
            HELPER: AccountState(code="0x60806040", nonce=1),
        },
    )


def test_prestate_non_diff_mode() -> None:
    raw = {EOA.lower(): {"balance": "0x0", "nonce": 3}, TOKEN.lower(): {"code": "0x00"}}
    assert normalize_prestate(raw) == {
        EOA: AccountState(balance=0, nonce=3),
        TOKEN: AccountState(code="0x00"),
    }


def test_deep_trees_do_not_hit_the_recursion_limit(decoder: Decoder) -> None:
    depth = 1100
    raw: dict[str, Any] = {
        "type": "CALL",
        "from": BANK.lower(),
        "to": ATTACKER.lower(),
        "value": "0x1",
        "input": "0x",
    }
    for _ in range(depth):
        raw = {
            "type": "CALL",
            "from": ATTACKER.lower(),
            "to": BANK.lower(),
            "value": "0x1",
            "input": "0x",
            "calls": [raw],
        }
    trace = normalize_call_trace(raw, decoder)
    assert len(extract_transfers(trace)) == depth + 1
    text = render_trace_plain(trace, max_depth=2)
    assert f"… {depth - 2} more frames" in text
