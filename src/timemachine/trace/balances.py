"""Net balance changes per (address, asset), and token metadata read from the chain.

ETH comes from the prestate diff, so it is exact: gas fees and the coinbase reward included.
Tokens are the net of the transaction's transfers (mints and burns count for 0x0 too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode

from timemachine.errors import (
    MethodUnavailableError,
    RpcError,
    RpcRateLimitedError,
    RpcUnavailableError,
)
from timemachine.hexutil import checksum, hex_to_bytes
from timemachine.models import BalanceChange, StateDiff, TokenTransfer
from timemachine.trace.decoder import DECODE_ERRORS
from timemachine.trace.signatures import keccak_signature

ETH = "ETH"
SYMBOL_CALL = keccak_signature("symbol()")[:10]
DECIMALS_CALL = keccak_signature("decimals()")[:10]
BALANCE_OF = keccak_signature("balanceOf(address)")[:10]
MAX_CONCURRENT_CALLS = 8
_FATAL = (RpcUnavailableError, RpcRateLimitedError, MethodUnavailableError)
"""Errors about the node rather than the token: they abort enrichment instead of reading None."""


class EthCaller(Protocol):
    """The slice of `chain.rpc.RpcClient` that metadata enrichment needs."""

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any: ...

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]: ...


def sort_key(change: BalanceChange) -> tuple[str, bool, str]:
    """Deterministic order: by address, ETH first, then token address."""
    return (change.address.lower(), change.asset != ETH, change.asset.lower())


def _eth_changes(state_diff: StateDiff) -> list[BalanceChange]:
    pre = {checksum(address): account for address, account in state_diff.pre.items()}
    post = {checksum(address): account for address, account in state_diff.post.items()}
    changes = []
    for address in pre.keys() | post.keys():
        before_account = pre.get(address)
        before = (before_account.balance if before_account else None) or 0
        if address in post:
            after_balance = post[address].balance
            after = before if after_balance is None else after_balance
        else:
            after = 0  # in `pre` but not `post`: the account was deleted (diffMode semantics)
        if after != before:
            changes.append(
                BalanceChange(
                    address=address,
                    asset=ETH,
                    symbol=ETH,
                    decimals=18,
                    before=before,
                    after=after,
                    delta=after - before,
                )
            )
    return changes


def balance_changes(
    transfers: Sequence[TokenTransfer], state_diff: StateDiff
) -> list[BalanceChange]:
    """ETH changes from the state diff plus net token changes from transfers (zero nets skipped).

    ETH: before = pre balance (0 for accounts that did not exist), after = post balance, or the
    pre balance when `post` does not list a balance, or 0 when `post` omits the account entirely
    (prestateTracer's diffMode leaves deleted accounts out of `post`). ERC-721 deltas count tokens.
    """
    nets: dict[tuple[str, str], int] = {}
    metadata: dict[str, tuple[str | None, int | None]] = {}
    for transfer in transfers:
        if transfer.standard == ETH or transfer.token is None:
            continue
        token = checksum(transfer.token)
        sender, recipient = checksum(transfer.from_), checksum(transfer.to)
        nets[(sender, token)] = nets.get((sender, token), 0) - transfer.amount
        nets[(recipient, token)] = nets.get((recipient, token), 0) + transfer.amount
        known = metadata.get(token, (None, None))
        metadata[token] = (known[0] or transfer.symbol, _first(known[1], transfer.decimals))
    changes = _eth_changes(state_diff)
    for (address, token), delta in nets.items():
        if delta:
            symbol, decimals = metadata.get(token, (None, None))
            changes.append(
                BalanceChange(
                    address=address, asset=token, symbol=symbol, decimals=decimals, delta=delta
                )
            )
    return sorted(changes, key=sort_key)


def _first(*values: int | None) -> int | None:
    return next((value for value in values if value is not None), None)


async def _eth_calls(
    caller: EthCaller, requests: Sequence[tuple[str, str]], block: str
) -> list[bytes | None]:
    """eth_call each (to, data) at `block`; a failing call gives None instead of raising.

    One JSON-RPC batch first (one round trip in the common case). `batch` raises on the first
    failing entry without saying which, so when a token reverts the calls are re-sent one by one,
    concurrently, and only the failing ones read None. Node-level errors still raise.
    """
    calls: list[tuple[str, Sequence[Any]]] = [
        ("eth_call", [{"to": to, "data": data}, block]) for to, data in requests
    ]
    if not calls:
        return []
    try:
        results = await caller.batch(calls)
    except _FATAL:
        raise
    except RpcError:
        results = []
    if len(results) == len(calls):
        return [_result_bytes(result) for result in results]
    limit = asyncio.Semaphore(MAX_CONCURRENT_CALLS)

    async def one(method: str, params: Sequence[Any]) -> bytes | None:
        async with limit:
            try:
                return _result_bytes(await caller.call(method, params))
            except _FATAL:
                raise
            except RpcError:
                return None

    return list(await asyncio.gather(*(one(method, params) for method, params in calls)))


def _result_bytes(result: object) -> bytes | None:
    data = hex_to_bytes(result)
    return data if data else None


def _decode_uint(data: bytes | None, limit: int | None = None) -> int | None:
    if data is None or len(data) < 32:
        return None
    try:
        value = int(abi_decode(["uint256"], data[:32])[0])
    except DECODE_ERRORS:
        return None
    return value if limit is None or value <= limit else None


def _decode_symbol(data: bytes | None) -> str | None:
    """A `string` symbol, or a `bytes32` one (MKR, SAI) with trailing zero bytes cut."""
    if data is None:
        return None
    try:
        text = str(abi_decode(["string"], data)[0])
    except DECODE_ERRORS:
        text = (
            data[:32].rstrip(b"\x00").decode("utf-8", errors="replace") if len(data) >= 32 else ""
        )
    text = text.strip("\x00").strip()
    return text or None


async def enrich_token_metadata(
    changes: Sequence[BalanceChange],
    transfers: Sequence[TokenTransfer],
    caller: EthCaller,
    block: str,
    *,
    balances_final: bool = True,
) -> tuple[list[TokenTransfer], list[BalanceChange]]:
    """Fill token symbol/decimals, and token before/after balances, from eth_call at `block`.

    Reads symbol(), decimals() of every token and, when `balances_final` (state at `block` is the
    state right after the transaction), balanceOf(holder) of every token change: after = that
    balance, before = after - delta. Tokens that revert or return garbage keep None. Returns new
    (transfers, changes); the inputs are not modified.
    """
    tokens = sorted(
        {checksum(t.token) for t in transfers if t.standard != ETH and t.token}
        | {checksum(c.asset) for c in changes if c.asset != ETH},
        key=str.lower,
    )
    holders = [c for c in changes if c.asset != ETH] if balances_final else []
    requests = [(token, SYMBOL_CALL) for token in tokens]
    requests += [(token, DECIMALS_CALL) for token in tokens]
    requests += [
        (c.asset, BALANCE_OF + abi_encode(["address"], [c.address]).hex()) for c in holders
    ]
    results = await _eth_calls(caller, requests, block)
    count = len(tokens)
    symbols = {token: _decode_symbol(results[i]) for i, token in enumerate(tokens)}
    decimals = {token: _decode_uint(results[count + i], 255) for i, token in enumerate(tokens)}
    balances = {
        (c.address, checksum(c.asset)): _decode_uint(results[2 * count + i])
        for i, c in enumerate(holders)
    }

    new_transfers = []
    for transfer in transfers:
        if transfer.standard == ETH or not transfer.token:
            new_transfers.append(transfer)
            continue
        token = checksum(transfer.token)
        new_transfers.append(
            transfer.model_copy(
                update={
                    "symbol": symbols.get(token) or transfer.symbol,
                    "decimals": _first(decimals.get(token), transfer.decimals),
                }
            )
        )
    new_changes = []
    for change in changes:
        if change.asset == ETH:
            new_changes.append(change)
            continue
        token = checksum(change.asset)
        update: dict[str, Any] = {
            "symbol": symbols.get(token) or change.symbol,
            "decimals": _first(decimals.get(token), change.decimals),
        }
        after = balances.get((change.address, token))
        if after is not None:
            update |= {"after": after, "before": after - change.delta}
        new_changes.append(change.model_copy(update=update))
    return new_transfers, sorted(new_changes, key=sort_key)
