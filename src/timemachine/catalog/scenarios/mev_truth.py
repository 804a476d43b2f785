"""Shared by the MEV scenarios: Uniswap V2 pricing, event logs from receipts, and actors'
token balances, from which each scenario measures its ground truth independently of the
trace-based MEV inspector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak

from timemachine.catalog.builder import MinedBlock
from timemachine.catalog.scenarios.contract import Contract
from timemachine.errors import DevnetBuildError
from timemachine.hexutil import hex_to_bytes


def v2_amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """A Uniswap V2 pair's output for `amount_in` (0.3% fee), as the router quotes it."""
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


async def pair_reserves(pair: Contract, token_in: str) -> tuple[int, int]:
    """(reserve of `token_in`, reserve of the other token) of a V2 pair at the last block."""
    reserve0, reserve1, _ = await pair.call("getReserves")
    token0 = await pair.call("token0")
    return (reserve0, reserve1) if token0.lower() == token_in.lower() else (reserve1, reserve0)


def event_data(
    block: MinedBlock, tx: str, emitter: str, signature: str, types: Sequence[str]
) -> tuple[Any, ...]:
    """The non-indexed fields of the one `signature` event `emitter` logged in `tx`."""
    topic = "0x" + keccak(text=signature).hex()
    logs = [
        log
        for log in block.receipt(tx)["logs"]
        if log["address"].lower() == emitter.lower() and log["topics"][0].lower() == topic
    ]
    if len(logs) != 1:
        raise DevnetBuildError(f"{tx}: {len(logs)} {signature} events from {emitter}, not one")
    return tuple(abi_decode(list(types), hex_to_bytes(logs[0]["data"]) or b""))


def lower(value: Any) -> Any:
    """Addresses (and hashes) lower-cased throughout, as the MEV inspector reports them."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, Mapping):
        return {key: lower(item) for key, item in value.items()}
    if isinstance(value, list):
        return [lower(item) for item in value]
    return value
