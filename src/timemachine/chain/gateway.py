"""The state gateway: a loopback JSON-RPC endpoint that anvil forks use as their upstream.

It answers from a cache what cannot change — state pinned to a block number, blocks by number or
hash, mined transactions and receipts, the chain id — and forwards the rest to the real upstream
through our RpcClient (so retries, rate limits and request counts apply to the engine's fetches
too). The replay engine seeds it with the prestate the upstream's own tracer reports, so anvil's
lazy one-slot-at-a-time fetching becomes local lookups; anything not seeded is fetched as before,
so a partial seed can cost time but never correctness.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from timemachine.chain.jsonrpc_server import JsonRpcServer
from timemachine.chain.rpc import RpcClient
from timemachine.errors import RpcError

Key = tuple[Any, ...]
_ACCOUNT_METHODS = frozenset(
    {"eth_getBalance", "eth_getTransactionCount", "eth_getCode", "eth_getAccountInfo"}
)
_MINED_ONLY = frozenset({"eth_getTransactionByHash", "eth_getTransactionReceipt"})
_TAGS = frozenset({"latest", "pending", "earliest", "safe", "finalized"})


@dataclass(frozen=True)
class SeedAccount:
    """What is known of one account at one block; None means unknown (fetched if asked)."""

    balance: int | None = None
    nonce: int | None = None
    code: str | None = None
    storage: Mapping[str, str] | None = None


def _block_key(value: Any) -> Any:
    """A cacheable block reference (number or hash), or None for tags like 'latest'."""
    if isinstance(value, dict):
        value = value.get("blockNumber", value.get("blockHash"))
    if not isinstance(value, str) or value in _TAGS:
        return None
    return value.lower() if len(value) == 66 else int(value, 16)


def cache_key(method: str, params: list[Any]) -> Key | None:
    """The cache key of a call whose answer can never change, or None."""
    try:
        if method in _ACCOUNT_METHODS:
            block = _block_key(params[1])
            return None if block is None else (method, params[0].lower(), block)
        if method == "eth_getStorageAt":
            block = _block_key(params[2])
            return None if block is None else (method, params[0].lower(), int(params[1], 16), block)
        if method == "eth_getBlockByNumber":
            block = _block_key(params[0])
            return None if block is None else (method, block, bool(params[1]))
        if method == "eth_getBlockByHash":
            return (method, params[0].lower(), bool(params[1]))
        if method in _MINED_ONLY:
            return (method, params[0].lower())
        if method == "eth_chainId":
            return (method,)
    except (IndexError, AttributeError, TypeError, ValueError):
        return None
    return None


class StateGateway:
    """Serve anvil from a bounded cache in front of `upstream`."""

    def __init__(self, upstream: RpcClient, *, max_entries: int = 500_000) -> None:
        self.upstream = upstream
        self.max_entries = max_entries
        self.hits = 0
        self.forwarded = 0
        self._cache: OrderedDict[Key, Any] = OrderedDict()
        self._server = JsonRpcServer(self.handle)

    @property
    def url(self) -> str:
        return self._server.url

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    def remember(self, method: str, params: list[Any], result: Any) -> None:
        """Cache an answer learnt elsewhere (ignored unless the call is cacheable)."""
        key = cache_key(method, params)
        if key is not None:
            self._put(key, result)

    def seed(self, block_number: int, accounts: Mapping[str, SeedAccount]) -> int:
        """Remember account state at `block_number`; returns how many answers were added."""
        before = len(self._cache)
        for address, account in accounts.items():
            owner = address.lower()
            if account.balance is not None:
                self._put(("eth_getBalance", owner, block_number), hex(account.balance))
            if account.nonce is not None:
                self._put(("eth_getTransactionCount", owner, block_number), hex(account.nonce))
            if account.code is not None:
                self._put(("eth_getCode", owner, block_number), account.code)
            if None not in (account.balance, account.nonce, account.code):
                info = {
                    "balance": hex(account.balance or 0),
                    "nonce": hex(account.nonce or 0),
                    "code": account.code,
                }
                self._put(("eth_getAccountInfo", owner, block_number), info)
            for slot, value in (account.storage or {}).items():
                word = "0x" + value[2:].rjust(64, "0")
                self._put(("eth_getStorageAt", owner, int(slot, 16), block_number), word)
        return len(self._cache) - before

    async def handle(self, payload: Any) -> Any:
        """Answer one JSON-RPC request or batch: cached answers first, misses in one batch."""
        calls = payload if isinstance(payload, list) else [payload]
        answers: list[Any] = [None] * len(calls)
        misses: list[tuple[int, Key | None]] = []
        for position, call in enumerate(calls):
            if not isinstance(call, dict) or not isinstance(call.get("method"), str):
                answers[position] = _error(None, -32600, "invalid request")
                continue
            key = cache_key(call["method"], list(call.get("params") or []))
            if key is not None and key in self._cache:
                self.hits += 1
                self._cache.move_to_end(key)
                answers[position] = _result(call, self._cache[key])
            else:
                misses.append((position, key))
        if misses:
            await self._forward(calls, misses, answers)
        return answers if isinstance(payload, list) else answers[0]

    async def _forward(
        self, calls: list[Any], misses: list[tuple[int, Key | None]], answers: list[Any]
    ) -> None:
        self.forwarded += len(misses)
        requests = [(calls[i]["method"], list(calls[i].get("params") or [])) for i, _ in misses]
        try:
            if len(requests) == 1:
                results: list[Any] = [await _settled(self.upstream, *requests[0])]
            else:
                results = await self.upstream.batch_settled(requests)
        except RpcError as error:  # the upstream itself is unreachable: every miss fails
            results = [error] * len(requests)
        for (position, key), result in zip(misses, results, strict=True):
            call = calls[position]
            if isinstance(result, RpcError):
                answers[position] = _error(call.get("id"), result.code or -32000, result.message)
                continue
            if key is not None and result is not None:
                self._put(key, result)
            answers[position] = _result(call, result)

    def has(self, method: str, params: list[Any]) -> bool:
        """Whether the answer to this call is cached."""
        key = cache_key(method, params)
        return key is not None and key in self._cache

    def invalidate_from(self, number: int) -> int:
        """Forget every answer tied to block `number` or later by number (a reorg replaced those
        blocks; the block tracker calls this), and mined transactions and receipts of those
        blocks. Entries keyed by block hash stay: a hash names one block forever. Returns how
        many entries were dropped."""
        stale = [key for key, value in self._cache.items() if _at_or_after(key, value, number)]
        for key in stale:
            del self._cache[key]
        return len(stale)

    def _put(self, key: Key, value: Any) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)


def _at_or_after(key: Key, value: Any, number: int) -> bool:
    method = key[0]
    if method == "eth_getBlockByNumber":
        block = key[1]
    elif method in _MINED_ONLY:
        block = value.get("blockNumber") if isinstance(value, dict) else None
        block = int(block, 16) if isinstance(block, str) else None
    elif method in _ACCOUNT_METHODS or method == "eth_getStorageAt":
        block = key[-1]
    else:
        return False
    return isinstance(block, int) and block >= number


async def _settled(rpc: RpcClient, method: str, params: list[Any]) -> Any:
    try:
        return await rpc.call(method, params)
    except RpcError as error:
        return error


def _result(call: dict[str, Any], result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": call.get("id"), "result": result}


def _error(call_id: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": call_id, "error": {"code": code, "message": message}}
