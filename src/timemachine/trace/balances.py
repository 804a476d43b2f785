"""Net balance changes per (address, asset), and token metadata read from the chain.

ETH comes from the prestate diff, so it is exact: gas fees and the coinbase reward included.
Tokens are read: balanceOf of every holder a Transfer event names, right before and right after
the transaction, so a token whose events lie (or say nothing of a fee or a rebase) still shows
what balances really did; the events' own net is kept where it disagrees.
"""

from __future__ import annotations

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
_FATAL = (RpcUnavailableError, RpcRateLimitedError, MethodUnavailableError)
"""Errors about the node rather than the token: they abort enrichment instead of reading None."""


class EthCaller(Protocol):
    """The slice of `chain.rpc.RpcClient` that balance and metadata reads need."""

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any: ...

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]: ...

    async def batch_settled(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]: ...


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


ZERO_ADDRESS = "0x" + "00" * 20
EthCall = tuple[str, str, dict[str, Any] | None]
"""(to, data, state overrides or None) of one eth_call."""


def _log_nets(
    transfers: Sequence[TokenTransfer],
) -> tuple[dict[tuple[str, str], int], dict[str, tuple[str | None, int | None]]]:
    """Net of the token transfers per (holder, token), zero nets included, and what the
    transfers already say about each token's symbol and decimals."""
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
    return nets, metadata


def balance_changes(
    transfers: Sequence[TokenTransfer], state_diff: StateDiff
) -> list[BalanceChange]:
    """ETH changes from the state diff plus net token changes from transfers (zero nets skipped).

    The offline view, used when balances cannot be read on a chain (`token_balance_changes` reads
    them). ETH: before = pre balance (0 for accounts that did not exist), after = post balance, or
    the pre balance when `post` does not list a balance, or 0 when `post` omits the account
    entirely (prestateTracer's diffMode leaves deleted accounts out of `post`). ERC-721 deltas
    count tokens.
    """
    nets, metadata = _log_nets(transfers)
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


def pre_state_overrides(state_diff: StateDiff) -> dict[str, dict[str, Any]]:
    """eth_call state overrides that turn the state right after the transaction back into the
    state right before it: every slot, balance and code the transaction changed, set to its
    pre-transaction value.

    diffMode lists changed slots in `pre` with their old value, except slots that were zero
    before (and accounts that did not exist), which appear only in `post`: those are set to 0.
    """
    zero = "0x" + "00" * 32
    overrides: dict[str, dict[str, Any]] = {}
    pre = {checksum(address): account for address, account in state_diff.pre.items()}
    post = {checksum(address): account for address, account in state_diff.post.items()}
    for address in sorted(pre.keys() | post.keys(), key=str.lower):
        before, after = pre.get(address), post.get(address)
        slots = dict.fromkeys(after.storage if after else {}, zero)
        slots |= before.storage if before else {}
        entry: dict[str, Any] = {}
        if slots:
            entry["stateDiff"] = slots
        balance = before.balance if before else 0
        if balance is not None and (after is None or after.balance is not None):
            entry["balance"] = hex(balance)
        old_code, new_code = before.code if before else None, after.code if after else None
        if old_code is not None and new_code is not None and new_code != old_code:
            entry["code"] = old_code
        if entry:
            overrides[address] = entry
    return overrides


def balance_of_data(holder: str) -> str:
    """Calldata of balanceOf(holder)."""
    return BALANCE_OF + abi_encode(["address"], [holder]).hex()


async def eth_calls(
    caller: EthCaller, requests: Sequence[EthCall], block: str
) -> list[bytes | None]:
    """eth_call each (to, data, overrides) at `block` in one JSON-RPC batch (one round trip);
    a call that fails or returns nothing reads None. Node-level errors still raise."""
    calls: list[tuple[str, Sequence[Any]]] = [
        ("eth_call", [{"to": to, "data": data}, block, *([overrides] if overrides else [])])
        for to, data, overrides in requests
    ]
    if not calls:
        return []
    answers = await caller.batch_settled(calls)
    results: list[bytes | None] = []
    for answer in answers:
        if isinstance(answer, _FATAL):
            raise answer
        results.append(None if isinstance(answer, RpcError) else _result_bytes(answer))
    return results


async def token_balance_changes(
    transfers: Sequence[TokenTransfer],
    state_diff: StateDiff,
    caller: EthCaller,
    block: str,
    *,
    balances_final: bool = True,
) -> tuple[list[TokenTransfer], list[BalanceChange]]:
    """Balance changes with token balances read on the chain, and transfers with token metadata.

    Every (holder, token) pair that appears in a token transfer (zero nets included) gets
    balanceOf(holder) read at `block`, the state right after the transaction, and at `block` with
    `pre_state_overrides`, the state right before it: before/after/delta are those reads, and
    `logged_delta` keeps the Transfer-event net where it disagrees. Rows whose balance did not
    move are dropped unless the events claim it did (the zero address excepted: mints and burns
    log it without it holding anything). A pair whose balance cannot be read (no balanceOf,
    revert, garbage), or any pair when `balances_final` is False (`block` is not the state right
    after the transaction), keeps the Transfer-event net with before/after None. symbol() and
    decimals() of every token are read in the same batch: one round trip in all.
    """
    nets, metadata = _log_nets(transfers)
    tokens = sorted({token for _, token in nets}, key=str.lower)
    pairs = sorted(nets, key=lambda pair: (pair[0].lower(), pair[1].lower()))
    read = pairs if balances_final else []
    overrides = pre_state_overrides(state_diff) if read else {}
    requests: list[EthCall] = [(token, SYMBOL_CALL, None) for token in tokens]
    requests += [(token, DECIMALS_CALL, None) for token in tokens]
    requests += [(token, balance_of_data(holder), None) for holder, token in read]
    requests += [(token, balance_of_data(holder), overrides or None) for holder, token in read]
    results = await eth_calls(caller, requests, block)
    count, reads = len(tokens), len(read)
    symbols = {token: _decode_symbol(results[i]) for i, token in enumerate(tokens)}
    decimals = {token: _decode_uint(results[count + i], 255) for i, token in enumerate(tokens)}
    after = {pair: _decode_uint(results[2 * count + i]) for i, pair in enumerate(read)}
    before = {pair: _decode_uint(results[2 * count + reads + i]) for i, pair in enumerate(read)}

    changes = _eth_changes(state_diff)
    for pair in pairs:
        holder, token = pair
        logged = nets[pair]
        symbol = symbols.get(token) or metadata[token][0]
        token_decimals = _first(decimals.get(token), metadata[token][1])
        old, new = before.get(pair), after.get(pair)
        if old is None or new is None:  # no readable balances: the Transfer-event net
            old = new = None
            delta = logged
        else:
            delta = new - old
        disagrees = old is not None and logged != delta and holder.lower() != ZERO_ADDRESS
        if delta or disagrees:
            changes.append(
                BalanceChange(
                    address=holder,
                    asset=token,
                    symbol=symbol,
                    decimals=token_decimals,
                    before=old,
                    after=new,
                    delta=delta,
                    logged_delta=logged if disagrees else None,
                )
            )

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
    return new_transfers, sorted(changes, key=sort_key)


def _first(*values: int | None) -> int | None:
    return next((value for value in values if value is not None), None)


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
