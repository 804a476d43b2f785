"""Live streams of one chain: `async for head in chain.heads()`, `async for tx in
chain.pending_transactions()`.

Every provider of the pool feeds the stream on its own: over WebSocket with `eth_subscribe`
(`newHeads`, `newPendingTransactions` with full transactions where the node offers them), or, for
HTTP providers, by polling `eth_newBlockFilter` / `eth_newPendingTransactionFilter` (falling back
to `eth_getBlockByNumber("latest")` and `txpool_content` where filters are not served). A source
that drops reconnects with capped exponential backoff and jitter, and after every (re)connect it
first reports the provider's latest block, so the block tracker fills the gap by parent hash: no
head is lost across a restart. Heads from all providers go through one `BlockTracker`, which
de-duplicates them (and emits reorgs); pending transactions are de-duplicated by hash. Benched
providers (minority fork) feed nothing while benched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from timemachine.chain.health import ProviderHealth, backoff_delay
from timemachine.chain.pool import ProviderPool
from timemachine.chain.rpc import RpcClient
from timemachine.chain.tracker import BlockRef, BlockTracker
from timemachine.chain.ws import WsRpcClient
from timemachine.errors import MethodUnavailableError, RpcError
from timemachine.lifecycle import AsyncCloseable
from timemachine.logs import get_logger

log = get_logger(__name__)
SEEN_LIMIT = 100_000


@dataclass(frozen=True)
class Source:
    """One provider feeding a stream."""

    label: str
    client: RpcClient | WsRpcClient
    benched: Callable[[], bool]

    @property
    def websocket(self) -> bool:
        return isinstance(self.client, WsRpcClient)


class _Seen:
    """A bounded set of recently seen keys."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self.limit = limit
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """True when `key` is new."""
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self.limit:
            self._keys.popitem(last=False)
        return True


class Chain(AsyncCloseable):
    """Live access to one chain through a pool (or one client): heads, pending txs, reorgs."""

    def __init__(
        self,
        rpc: RpcClient,
        *,
        name: str = "",
        confirmations: int = 64,
        poll_interval: float = 1.0,
        reconnect_base: float = 0.25,
        reconnect_cap: float = 10.0,
    ) -> None:
        self.rpc = rpc
        self.name = name
        self.tracker = BlockTracker(rpc, chain=name, confirmations=confirmations)
        self.poll_interval = poll_interval
        self.reconnect_base = reconnect_base
        self.reconnect_cap = reconnect_cap
        self.reconnects: dict[str, int] = {}
        """Label → how many times its stream was re-established."""

    async def aclose(self) -> None:
        await self.rpc.aclose()

    def sources(self) -> list[Source]:
        if isinstance(self.rpc, ProviderPool):
            return [Source(p.label, p.client, _benched(p.health)) for p in self.rpc.providers]
        return [Source(self.rpc.label, self.rpc, lambda: False)]

    async def heads(self) -> AsyncGenerator[BlockRef, None]:
        """Each block that becomes canonical, once, in order (gaps filled; after a reorg the
        new branch's blocks). Reorgs go to `self.tracker`'s listeners."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        async with self._feeding(queue, self._heads_from):
            while True:
                header = await queue.get()
                tip = self.tracker.head
                number = header.get("number")
                if tip is not None and isinstance(number, str) and int(number, 16) < tip.number:
                    continue  # a lagging provider's older head
                try:
                    blocks = await self.tracker.observe(header)
                except RpcError as error:
                    log.warning("head could not be linked", chain=self.name, error=error.message)
                    continue
                if blocks and (self.tracker.node_finalized is None or blocks[-1].number % 32 == 0):
                    await self.tracker.refresh_finalized()  # the node's own finality, now and then
                for block in blocks:
                    yield block

    async def pending_transactions(self, *, full: bool = True) -> AsyncGenerator[Any, None]:
        """Each pending transaction once: the full transaction object where the provider offers
        it (or it can be fetched), else its hash."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        seen = _Seen()

        async def feed(source: Source, put: Callable[[Any], Awaitable[None]]) -> None:
            await self._pending_from(source, put, full=full)

        async with self._feeding(queue, feed):
            while True:
                item = await queue.get()
                tx_hash = item.get("hash") if isinstance(item, dict) else item
                if isinstance(tx_hash, str) and seen.add(tx_hash.lower()):
                    yield item

    @contextlib.asynccontextmanager
    async def _feeding(
        self,
        queue: asyncio.Queue[Any],
        feed: Callable[[Source, Callable[[Any], Awaitable[None]]], Awaitable[None]],
    ) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(self._supervise(source, queue, feed)) for source in self.sources()
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _supervise(
        self,
        source: Source,
        queue: asyncio.Queue[Any],
        feed: Callable[[Source, Callable[[Any], Awaitable[None]]], Awaitable[None]],
    ) -> None:
        """Run `feed` for one source forever, reconnecting with capped backoff and jitter."""
        attempt = 0

        async def put(item: Any) -> None:
            nonlocal attempt
            attempt = 0  # the source delivers: the next drop starts the backoff over
            if not source.benched():
                await queue.put(item)

        while True:
            try:
                await feed(source, put)
            except RpcError as error:
                log.info("stream dropped", provider=source.label, error=error.message)
            self.reconnects[source.label] = self.reconnects.get(source.label, 0) + 1
            await asyncio.sleep(backoff_delay(attempt, self.reconnect_base, self.reconnect_cap))
            attempt += 1

    async def _heads_from(self, source: Source, put: Callable[[Any], Awaitable[None]]) -> None:
        client = source.client
        if isinstance(client, WsRpcClient):
            stream = await client.subscribe("newHeads")  # subscribed before looking back
            try:
                latest = await client.call("eth_getBlockByNumber", ["latest", False])
                if isinstance(latest, dict):
                    await put(latest)
                async for header in stream:
                    await put(header)
            finally:
                await stream.aclose()
            return
        latest = await client.call("eth_getBlockByNumber", ["latest", False])
        if isinstance(latest, dict):
            await put(latest)
        try:
            block_filter = await client.call("eth_newBlockFilter")
        except MethodUnavailableError:
            block_filter = None
        while True:
            await asyncio.sleep(self.poll_interval)
            if block_filter is None:
                latest = await client.call("eth_getBlockByNumber", ["latest", False])
                if isinstance(latest, dict):
                    await put(latest)
                continue
            for block_hash in await client.call("eth_getFilterChanges", [block_filter]) or []:
                block = await client.call("eth_getBlockByHash", [block_hash, False])
                if isinstance(block, dict):
                    await put(block)

    async def _pending_from(
        self, source: Source, put: Callable[[Any], Awaitable[None]], *, full: bool
    ) -> None:
        client = source.client

        async def deliver(item: Any) -> None:
            if full and isinstance(item, str):
                with contextlib.suppress(RpcError):
                    found = await client.call("eth_getTransactionByHash", [item])
                    item = found if isinstance(found, dict) else item
            await put(item)

        if isinstance(client, WsRpcClient):
            try:
                stream = await client.subscribe("newPendingTransactions", *([True] if full else []))
            except RpcError as error:
                if not client.connected or not full:
                    raise
                log.info("no full pending txs; hashes", provider=source.label, error=error.message)
                stream = await client.subscribe("newPendingTransactions")
            try:
                async for item in stream:
                    await deliver(item)
            finally:
                await stream.aclose()
            return
        try:
            tx_filter = await client.call("eth_newPendingTransactionFilter")
        except MethodUnavailableError:
            tx_filter = None
        while True:
            if tx_filter is None:
                for tx in _txpool_transactions(await client.call("txpool_content")):
                    await put(tx if full else tx.get("hash"))
            else:
                for tx_hash in await client.call("eth_getFilterChanges", [tx_filter]) or []:
                    await deliver(tx_hash)
            await asyncio.sleep(self.poll_interval)


def _benched(health: ProviderHealth) -> Callable[[], bool]:
    return lambda: health.benched


def _txpool_transactions(content: Any) -> list[dict[str, Any]]:
    """The transactions of a `txpool_content` answer (pending, then queued)."""
    found: list[dict[str, Any]] = []
    if not isinstance(content, dict):
        return found
    for section in ("pending", "queued"):
        for by_nonce in (content.get(section) or {}).values():
            if isinstance(by_nonce, dict):
                found.extend(tx for tx in by_nonce.values() if isinstance(tx, dict))
    return found
