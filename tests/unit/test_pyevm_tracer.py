"""The py-evm backend's geth tracers on small hand-written contracts (Byzantium rules).

Every gas figure is worked out from the yellow paper's Byzantium schedule in the comments, so a
change in py-evm or in the tracer shows up as a number that no longer adds up.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode
from eth_account import Account

from timemachine.errors import InvalidInputError
from timemachine.models import BlockEnv
from timemachine.pyevm import TransactionCase, execute

KEY = "0x" + "11" * 32
SENDER = Account.from_key(KEY).address.lower()
A = "0x" + "aa" * 20
B = "0x" + "bb" * 20
COINBASE = "0x" + "c0" * 20
GAS = 100_000
PRICE = 10
FUNDS = 10**18
BLOCK = BlockEnv(number=10, timestamp=1_000, coinbase=COINBASE, gas_limit=10_000_000, difficulty=1)

# Byzantium: 3 per PUSH, 20,000 for a fresh SSTORE, CALL 700 (+9,000 with value, 2,300 stipend
# handed to the callee), LOG 375 + 375 per topic, CODECOPY 3 + 3 per word, memory 3 per word.


def _push(value: int, size: int = 1) -> str:
    return f"{0x5F + size:02x}{value:0{size * 2}x}"


def _call(to: str, value: int, gas: int = 10_000) -> str:
    """CALL(gas, to, value, 0, 0, 0, 0): seven pushes (21 gas) and the CALL."""
    pushes = _push(0) * 4 + _push(value) + "73" + to[2:] + _push(gas, 2)
    return pushes + "f1"


def _run(
    code: dict[str, str], *, balance_a: int = 0, hardfork: str = "byzantium"
) -> tuple[Any, str]:
    signed = Account.sign_transaction(
        {
            "nonce": 0,
            "gasPrice": PRICE,
            "gas": GAS,
            "to": bytes.fromhex(A[2:]),
            "value": 0,
            "data": b"",
            "chainId": 1,
        },
        KEY,
    )
    alloc: dict[str, dict[str, Any]] = {SENDER: {"balance": hex(FUNDS)}}
    for address, hex_code in code.items():
        alloc[address] = {"balance": hex(balance_a if address == A else 0), "code": "0x" + hex_code}
    raw = "0x" + bytes(signed.raw_transaction).hex()
    case = TransactionCase(hardfork=hardfork, chain_id=1, block=BLOCK, alloc=alloc, raw_tx=raw)
    return execute(case), raw


def test_sstore_then_call_with_value() -> None:
    # A: SSTORE(0, 1) = 6 + 20,000; CALL B with 1 wei: 21 + 700 + 9,000 + 10,000 handed over,
    # 12,300 back (B only STOPs) = 7,421; A uses 27,427, the tx 21,000 + 27,427 = 48,427.
    a_code = _push(1) + _push(0) + "55" + _call(B, 1) + "00"
    execution, _ = _run({A: a_code, B: "00"}, balance_a=5)
    assert execution.gas_used == 48_427
    assert execution.call_tracer() == {
        "from": SENDER,
        "gas": hex(GAS),
        "gasUsed": hex(48_427),
        "to": A,
        "input": "0x",
        "calls": [
            {
                "from": A,
                "gas": hex(12_300),
                "gasUsed": "0x0",
                "to": B,
                "input": "0x",
                "value": "0x1",
                "type": "CALL",
            }
        ],
        "value": "0x0",
        "type": "CALL",
    }
    fee = 48_427 * PRICE
    slot = "0x" + "00" * 32
    one = "0x" + "00" * 31 + "01"
    assert execution.prestate_tracer() == {
        SENDER: {"balance": hex(FUNDS)},
        A: {"balance": "0x5", "code": "0x" + a_code, "storage": {slot: "0x" + "00" * 32}},
        B: {"balance": "0x0", "code": "0x00"},
        COINBASE: {"balance": "0x0"},
    }
    assert execution.prestate_tracer(diff_mode=True) == {
        "post": {
            SENDER: {"balance": hex(FUNDS - fee), "nonce": 1},
            A: {"balance": "0x4", "storage": {slot: one}},
            B: {"balance": "0x1"},
            COINBASE: {"balance": hex(fee)},
        },
        "pre": {
            SENDER: {"balance": hex(FUNDS)},
            A: {"balance": "0x5", "code": "0x" + a_code},
            B: {"balance": "0x0", "code": "0x00"},
            COINBASE: {"balance": "0x0"},
        },
    }


def test_a_call_the_balance_check_refuses_still_has_a_frame() -> None:
    # A has no wei: py-evm makes no child, geth shows the frame with the gas it handed over
    # (10,000 + 2,300 stipend), none used. A: 21 + 700 + 9,000 (12,300 back net of 10,000).
    execution, _ = _run({A: _call(B, 1) + "00", B: "00"})
    assert execution.gas_used == 21_000 + 21 + 700 + 9_000 + 10_000 - 12_300
    assert execution.call_tracer()["calls"] == [
        {
            "from": A,
            "gas": hex(12_300),
            "gasUsed": "0x0",
            "to": B,
            "input": "0x",
            "error": "insufficient balance for transfer",
            "value": "0x1",
            "type": "CALL",
        }
    ]


def test_revert_with_error_string() -> None:
    data = bytes.fromhex("08c379a0") + encode(["string"], ["no"])  # 100 bytes
    # CODECOPY(0, offset, 100): 9 + 3 + 3 * 4 words + 4 words of memory (12); REVERT(0, 100): 6.
    offset = 12
    code = _push(len(data)) + _push(offset) + _push(0) + "39" + _push(len(data)) + _push(0) + "fd"
    assert len(code) // 2 == offset
    execution, _ = _run({A: code + data.hex()})
    assert execution.gas_used == 21_000 + 42
    assert execution.call_tracer() == {
        "from": SENDER,
        "gas": hex(GAS),
        "gasUsed": hex(21_042),
        "to": A,
        "input": "0x",
        "output": "0x" + data.hex(),
        "error": "execution reverted",
        "revertReason": "no",
        "value": "0x0",
        "type": "CALL",
    }


def test_logs_of_a_reverted_frame_are_dropped_and_indexes_close_up() -> None:
    log0 = _push(0) + _push(0) + "a0"  # LOG0(0, 0): 6 + 375
    # B: LOG1(0, 0, topic 1) = 9 + 750, then REVERT(0, 0) = 6: 765 of the 10,000 it gets.
    b_code = _push(1) + _push(0) + _push(0) + "a1" + _push(0) + _push(0) + "fd"
    # A: LOG0, CALL B (21 + 700 + 765), LOG0: 381 + 1,486 + 381 = 2,248.
    a_code = log0 + _call(B, 0) + log0 + "00"
    execution, _ = _run({A: a_code, B: b_code})
    assert execution.gas_used == 21_000 + 2_248
    top = execution.call_tracer(with_log=True)
    assert top["logs"] == [
        {"address": A, "topics": [], "data": "0x", "index": "0x0", "position": "0x0"},
        {"address": A, "topics": [], "data": "0x", "index": "0x1", "position": "0x1"},
    ]
    assert top["calls"] == [
        {
            "from": A,
            "gas": hex(10_000),
            "gasUsed": hex(765),
            "to": B,
            "input": "0x",
            "error": "execution reverted",
            "value": "0x0",
            "type": "CALL",
        }
    ]
    assert "logs" not in execution.call_tracer()
    only_top = execution.call_tracer(with_log=True, only_top_call=True)
    assert "calls" not in only_top
    assert len(only_top["logs"]) == 2


def test_a_fork_py_evm_does_not_have_is_refused_with_the_alternative() -> None:
    with pytest.raises(InvalidInputError, match="osaka"):
        _run({A: "00"}, hardfork="osaka")
