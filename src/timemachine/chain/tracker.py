"""The block tracker: the recent chain of one network (number, hash, parent hash), its reorgs.

Each new head is linked to the stored chain through its parent hash. A head whose parent is the
stored tip extends the chain; one further ahead has its gap filled (parents fetched by hash, so
a restarted stream loses no block); one whose parent is not the stored block at that height is a
reorg: the tracker walks the new branch back by parent hash to the common ancestor, drops the
replaced blocks, and emits one `ChainReorged` (old and new branches, depth) to its listeners —
for example `invalidate_gateway`, which drops the state gateway's by-number entries of the
reorged range, and `publish_reorgs`, which publishes it to the bus topic `reorgs`. Blocks at or
below `finalized` (the node's `finalized` block, else head minus the chain's confirmations) are
final and no longer kept.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from timemachine.bus.topics import EVENT_ID_KEY, REORGS
from timemachine.chain import metrics
from timemachine.errors import RpcBadResponseError, RpcError
from timemachine.hexutil import quantity
from timemachine.logs import get_logger

if TYPE_CHECKING:
    from timemachine.chain.gateway import StateGateway
    from timemachine.chain.rpc import RpcClient
    from timemachine.ports import EventBus

log = get_logger(__name__)
MAX_GAP = 1024
"""Blocks fetched at most to fill one gap or follow one reorg back."""


@dataclass(frozen=True, slots=True)
class BlockRef:
    """Where a block sits in the chain."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int | None = None

    @classmethod
    def of(cls, block: Mapping[str, Any]) -> BlockRef:
        """From a JSON-RPC block object or a `newHeads` notification."""
        number = quantity(block.get("number"))
        block_hash, parent = block.get("hash"), block.get("parentHash")
        if number is None or not isinstance(block_hash, str) or not isinstance(parent, str):
            raise RpcBadResponseError(f"a block header without number/hash/parentHash: {block!r}")
        return cls(number, block_hash.lower(), parent.lower(), quantity(block.get("timestamp")))

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "hash": self.hash, "parent_hash": self.parent_hash}


@dataclass(frozen=True, slots=True)
class ChainReorged:
    """One reorganization: `old` blocks (ascending) were replaced by `new` ones above
    `common_ancestor`; `depth` is how many blocks were replaced."""

    chain: str
    common_ancestor: BlockRef
    old: tuple[BlockRef, ...]
    new: tuple[BlockRef, ...]

    @property
    def depth(self) -> int:
        return len(self.old)

    def as_event(self) -> dict[str, Any]:
        """The `chain_reorged` event as published (bus topic `reorgs`, `chain watch --json`)."""
        return {
            "type": "chain_reorged",
            "chain": self.chain,
            "depth": self.depth,
            "common_ancestor": self.common_ancestor.as_dict(),
            "old": [block.as_dict() for block in self.old],
            "new": [block.as_dict() for block in self.new],
        }


ReorgListener = Callable[[ChainReorged], Awaitable[None] | None]


def invalidate_gateway(gateway: StateGateway) -> ReorgListener:
    """A listener dropping the gateway's by-number cache entries of each reorged range."""

    def listener(event: ChainReorged) -> None:
        dropped = gateway.invalidate_from(event.common_ancestor.number + 1)
        log.info("gateway entries invalidated by reorg", chain=event.chain, dropped=dropped)

    return listener


def publish_reorgs(bus: EventBus) -> ReorgListener:
    """A listener publishing each reorg's `chain_reorged` event to the bus topic `reorgs`. Its
    `event_id` names the reorg (chain, common ancestor, new tip), so the copies published by
    several trackers of one chain are dropped by the bus."""

    def listener(event: ChainReorged) -> None:
        bus.publish(REORGS, {**event.as_event(), EVENT_ID_KEY: reorg_event_id(event)})

    return listener


def reorg_event_id(event: ChainReorged) -> str:
    """The bus message id of a reorg: the same for every tracker of the chain that sees it."""
    new_tip = event.new[-1].hash if event.new else ""
    return f"reorg:{event.chain}:{event.common_ancestor.hash}:{new_tip}"


class BlockTracker:
    """Keeps the recent chain of one network from the heads it is shown (`observe`)."""

    def __init__(
        self,
        rpc: RpcClient,
        *,
        chain: str = "",
        confirmations: int = 64,
        window: int = 256,
        backfill: int = 16,
    ) -> None:
        self.rpc = rpc
        self.backfill = backfill
        """Ancestors fetched with the first head, so a reorg right after start is linked too."""
        self.chain = chain
        self.confirmations = confirmations
        self.window = max(window, confirmations + 1)
        self.blocks: dict[int, BlockRef] = {}
        self.node_finalized: int | None = None
        self.reorgs: deque[ChainReorged] = deque(maxlen=100)
        """The latest reorgs seen (newest last)."""
        self._listeners: list[ReorgListener] = []

    def on_reorg(self, listener: ReorgListener) -> None:
        self._listeners.append(listener)

    @property
    def head(self) -> BlockRef | None:
        return self.blocks[max(self.blocks)] if self.blocks else None

    @property
    def finalized(self) -> int:
        """The highest final block number (-1 before any head)."""
        head = self.head
        by_depth = head.number - self.confirmations if head else -1
        return max(by_depth, self.node_finalized if self.node_finalized is not None else -1)

    def is_final(self, number: int) -> bool:
        """Whether block `number` can no longer be reorganized (by the rule in the module doc)."""
        return number <= self.finalized

    async def poll(self) -> list[BlockRef]:
        """Fetch the latest block and `observe` it."""
        block = await self.rpc.call("eth_getBlockByNumber", ["latest", False])
        if not isinstance(block, dict):
            raise RpcBadResponseError(f"{self.rpc.label} answered no latest block")
        return await self.observe(block)

    async def refresh_finalized(self) -> int:
        """Ask the node for its `finalized` block (nodes without the tag: confirmations only)."""
        try:
            block = await self.rpc.call("eth_getBlockByNumber", ["finalized", False])
        except RpcError:
            block = None
        if isinstance(block, dict):
            self.node_finalized = quantity(block.get("number"))
        return self.finalized

    async def observe(self, header: Mapping[str, Any]) -> list[BlockRef]:
        """Take in a head; returns the blocks that became canonical (ascending, gap filled),
        empty when it was already known. A reorg is emitted to the listeners before returning."""
        head = BlockRef.of(header)
        if not self.blocks:
            self.blocks[head.number] = head
            cursor = head
            for _ in range(min(self.backfill, self.confirmations)):
                if cursor.number == 0:
                    break
                cursor = await self._block_by_hash(cursor.parent_hash)
                self.blocks[cursor.number] = cursor
            return [head]
        if self.blocks.get(head.number) == head:
            return []
        lowest = min(self.blocks)
        branch = [head]
        while True:
            cursor = branch[0]
            below = self.blocks.get(cursor.number - 1)
            if below is not None and below.hash == cursor.parent_hash:
                break  # `below` is the common ancestor (or the tip, for a plain extension)
            if cursor.number - 1 < lowest or len(branch) > MAX_GAP:
                log.warning(
                    "chain history too far back to link; restarting the tracker",
                    chain=self.chain,
                    head=head.number,
                )
                self.blocks = {block.number: block for block in branch}
                return branch
            branch.insert(0, await self._block_by_hash(cursor.parent_hash))
        ancestor = self.blocks[branch[0].number - 1]
        old = tuple(self.blocks[n] for n in sorted(self.blocks) if n > ancestor.number)
        for block in old:
            del self.blocks[block.number]
        for block in branch:
            self.blocks[block.number] = block
        self._trim()
        if old:
            await self._emit(ChainReorged(self.chain, ancestor, old, tuple(branch)))
        return branch

    async def _block_by_hash(self, block_hash: str) -> BlockRef:
        block = await self.rpc.call("eth_getBlockByHash", [block_hash, False])
        if not isinstance(block, dict):
            for member in getattr(self.rpc, "providers", ()):  # a pool: someone may have it
                try:
                    block = await member.client.call("eth_getBlockByHash", [block_hash, False])
                except RpcError:
                    continue
                if isinstance(block, dict):
                    break
        if not isinstance(block, dict):
            raise RpcBadResponseError(
                f"{self.rpc.label} does not know block {block_hash} (the parent of a new head)"
            )
        return BlockRef.of(block)

    def _trim(self) -> None:
        head = self.head
        if head is None:
            return
        floor = max(head.number - self.window, min(self.finalized, head.number - 1))
        for number in [n for n in self.blocks if n < floor]:
            del self.blocks[number]

    async def _emit(self, event: ChainReorged) -> None:
        self.reorgs.append(event)
        metrics.observe_reorg(self.chain or "?", event.depth)
        log.warning(
            "chain_reorged",
            chain=self.chain,
            depth=event.depth,
            common_ancestor=event.common_ancestor.number,
        )
        for listener in self._listeners:
            outcome = listener(event)
            if inspect.isawaitable(outcome):
                await outcome
