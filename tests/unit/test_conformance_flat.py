"""flatCallTracer derived from a callTracer tree, per geth's call_flat.go semantics."""

from __future__ import annotations

from typing import Any

import pytest

from timemachine.trace.flat import flat_trace, is_precompile, parity_error

A = "0x00000000000000000000000000000000000000aa"
B = "0x00000000000000000000000000000000000000bb"
C = "0x00000000000000000000000000000000000000cc"
SHA256 = "0x0000000000000000000000000000000000000002"
BLAKE2F = "0x0000000000000000000000000000000000000009"


def tree() -> dict[str, Any]:
    return {
        "type": "CALL",
        "from": A,
        "to": B,
        "gas": "0x15f90",
        "gasUsed": "0x9751",
        "input": "0x01",
        "output": "0x02",
        "value": "0x0",
        "calls": [
            {"type": "STATICCALL", "from": B, "to": SHA256, "gas": "0x10", "gasUsed": "0x3c"},
            {
                "type": "CREATE2",
                "from": B,
                "to": C,
                "gas": "0x20",
                "gasUsed": "0x5",
                "input": "0x6000",
                "output": "0x00",
                "value": "0x1",
                "error": "execution reverted",
                "calls": [{"type": "SELFDESTRUCT", "from": C, "to": A, "value": "0x7"}],
            },
            {"type": "DELEGATECALL", "from": B, "to": SHA256, "gas": "0x30", "gasUsed": "0x3c"},
            {
                "type": "CALL",
                "from": B,
                "to": C,
                "gas": "0x40",
                "gasUsed": "0x40",
                "input": "0x",
                "value": "0x0",
                "error": "invalid opcode: INVALID",
            },
        ],
    }


def test_pre_order_walk_with_precompile_calls_removed() -> None:
    flat = flat_trace(tree(), "istanbul")
    assert [frame["traceAddress"] for frame in flat] == [[], [0], [0, 0], [1], [2]]
    assert [frame["type"] for frame in flat] == ["call", "create", "suicide", "call", "call"]
    assert [frame["subtraces"] for frame in flat] == [3, 1, 0, 0, 0]
    root, create, suicide, delegate, failed = flat
    assert root["action"] == {
        "from": A,
        "to": B,
        "gas": "0x15f90",
        "value": "0x0",
        "callType": "call",
        "input": "0x01",
    }
    assert root["result"] == {"gasUsed": "0x9751", "output": "0x02"}
    assert create["action"] == {
        "from": B,
        "gas": "0x20",
        "value": "0x1",
        "init": "0x6000",
        "creationMethod": "create2",
    }
    # A revert keeps its result; any other error drops it.
    assert create["result"] == {"gasUsed": "0x5", "address": C, "code": "0x00"}
    assert create["error"] == "execution reverted"
    assert suicide["action"] == {"address": C, "refundAddress": A, "balance": "0x7"}
    assert "result" not in suicide
    assert delegate["action"]["callType"] == "delegatecall"  # DELEGATECALL to a precompile stays
    assert failed["error"] == "invalid opcode: INVALID"
    assert "result" not in failed


def test_include_precompiles_keeps_them() -> None:
    flat = flat_trace(tree(), "istanbul", include_precompiles=True)
    assert len(flat) == 6
    assert flat[0]["subtraces"] == 4
    assert flat[1]["action"]["callType"] == "staticcall"


def test_convert_parity_errors() -> None:
    flat = flat_trace(tree(), "istanbul", convert_parity_errors=True)
    assert [frame.get("error") for frame in flat] == [
        None,
        "Reverted",
        None,
        None,
        "Bad instruction",
    ]


@pytest.mark.parametrize(
    ("error", "parity"),
    [
        ("out of gas", "Out of gas"),
        ("contract creation code storage out of gas", "Out of gas"),
        ("out of gas: not enough gas for reentrancy sentry", "Out of gas"),
        ("max code size exceeded", "Out of gas"),
        ("gas uint64 overflow", "Out of gas"),
        ("invalid jump destination", "Bad jump destination"),
        ("execution reverted", "Reverted"),
        ("return data out of bounds", "Out of bounds"),
        ("stack limit reached 1024 (1023)", "Out of stack"),
        ("precompile failed", "Built-in failed"),
        ("invalid input length", "Built-in failed"),
        ("invalid opcode: 0xfe", "Bad instruction"),
        ("stack underflow (0 <=> 2)", "Stack underflow"),
        ("insufficient balance for transfer", "insufficient balance for transfer"),
    ],
)
def test_parity_error_names(error: str, parity: str) -> None:
    assert parity_error(error) == parity


def test_precompiles_depend_on_the_fork() -> None:
    assert is_precompile(SHA256, "frontier")
    assert not is_precompile("0x0000000000000000000000000000000000000005", "spuriousdragon")
    assert is_precompile("0x0000000000000000000000000000000000000005", "byzantium")
    assert not is_precompile(BLAKE2F, "petersburg")
    assert is_precompile(BLAKE2F, "istanbul")
    assert not is_precompile("0x000000000000000000000000000000000000000a", "shanghai")
    assert is_precompile("0x000000000000000000000000000000000000000a", "cancun")
    assert is_precompile("0x0000000000000000000000000000000000000011", "prague")
    assert not is_precompile("0x0000000000000000000000000000000000000100", "prague")
    assert is_precompile("0x0000000000000000000000000000000000000100", "osaka")
    assert not is_precompile(A, "osaka")
    assert not is_precompile(None, "osaka")
