"""Canonical forms of geth tracer output and the readable difference messages."""

from __future__ import annotations

from timemachine.conformance.compare import (
    canonical_call_frame,
    canonical_flat_frame,
    differences,
)

A = "0x00000000000000000000000000000000000000aa"


def test_call_frame_goes_through_geths_schema() -> None:
    frame = {
        "type": "call",
        "from": A.upper().replace("0X", "0x"),
        "to": A,
        "gas": "0x0010",
        "gasUsed": 5,
        "input": "0xABCD",
        "output": "0x",
        "value": "0x0",
        "extra": "dropped",
        "logs": [{"address": A, "topics": ["0xAB"], "data": "0x"}],
    }
    assert canonical_call_frame(frame) == {
        "from": A,
        "gas": "0x10",
        "gasUsed": "0x5",
        "to": A,
        "input": "0xabcd",
        "logs": [
            {"address": A, "topics": ["0xab"], "data": "0x", "index": "0x0", "position": "0x0"}
        ],
        "value": "0x0",
        "type": "CALL",
    }
    order = ["from", "gas", "gasUsed", "to", "input", "logs", "value", "type"]
    assert list(canonical_call_frame(frame)) == order


def test_call_frame_keeps_value_presence_and_errors() -> None:
    staticcall = canonical_call_frame({"type": "STATICCALL", "from": A, "gas": "0x1"})
    assert "value" not in staticcall
    failed = canonical_call_frame(
        {"type": "CREATE", "from": A, "error": "out of gas", "revertReason": ""}
    )
    assert failed["error"] == "out of gas"
    assert "revertReason" not in failed


def test_flat_frame_ignores_block_context_and_zero_values() -> None:
    frame = {
        "type": "call",
        "action": {
            "callType": "call",
            "from": A,
            "to": A,
            "gas": "0x10",
            "value": "0x0",
            "input": "0x",
            "author": "0x0000000000000000000000000000000000000000",
        },
        "result": {"gasUsed": "0x0", "output": "0x"},
        "subtraces": 0,
        "traceAddress": [],
        "blockNumber": 5,
        "blockHash": "0x" + "11" * 32,
        "transactionHash": "0x" + "22" * 32,
        "transactionPosition": 3,
    }
    assert canonical_flat_frame(frame) == {
        "type": "call",
        "action": {"callType": "call", "from": A, "to": A, "gas": "0x10"},
    }


def test_difference_messages_name_the_path_and_both_values() -> None:
    expected = {"gasUsed": "0x9751", "calls": [{"gas": "0x6d05", "output": "0x01"}]}
    actual = {"gasUsed": "0x9751", "calls": [{"gas": "0x7539"}], "error": "out of gas"}
    assert differences(expected, actual) == [
        "calls[0].gas: expected 0x6d05, got 0x7539",
        "calls[0].output: expected 0x01, got (absent)",
        "error: expected (absent), got out of gas",
    ]


def test_list_length_and_type_differences() -> None:
    assert differences([{"a": 1}, {"a": 2}], [{"a": 1}]) == [
        "(root): expected 2 entries, got 1",
        "[1]: expected {a: 2}, got (absent)",
    ]
    assert differences({"nonce": 1}, {"nonce": "0x1"}) == ["nonce: expected 1, got 0x1"]
    assert differences({"x": "0x1"}, {"x": "0x1"}) == []


def test_long_values_are_shortened() -> None:
    long = "0x" + "ab" * 100
    (message,) = differences({"code": long}, {})
    assert message == f"code: expected {long[:68]}…(202 chars), got (absent)"
