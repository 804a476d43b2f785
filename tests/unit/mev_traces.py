"""Builders for synthetic Parity flat traces (MEV unit tests): real ABI-encoded calldata."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode

from timemachine.mev.abi import Function


def calldata(function: Function, *args: Any) -> str:
    return function.selector + encode(list(function.types), list(args)).hex()


def words(*values: int) -> str:
    return "0x" + "".join(f"{v:064x}" for v in values)


def call(
    tx: str,
    position: int,
    address: list[int],
    sender: str,
    to: str,
    data: str = "0x",
    *,
    value: int = 0,
    error: str | None = None,
    output: str = "0x",
    block: int = 100,
    call_type: str = "call",
) -> dict[str, Any]:
    return {
        "action": {
            "from": sender,
            "to": to,
            "callType": call_type,
            "gas": "0x0",
            "input": data,
            "value": hex(value),
        },
        "block_hash": "0x" + "00" * 32,
        "block_number": block,
        "result": None if error not in (None, "Reverted") else {"gasUsed": "0x1", "output": output},
        "subtraces": 0,
        "trace_address": address,
        "transaction_hash": tx,
        "transaction_position": position,
        "type": "call",
        "error": error,
    }


def tx_hash(n: int) -> str:
    return "0x" + f"{n:064x}"


def address(n: int) -> str:
    return "0x" + f"{n:040x}"
