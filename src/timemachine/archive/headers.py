"""Block headers as the archive needs them: number, hash, parent hash and timestamp of a range,
fetched in JSON-RPC batches and cached per hash-stable block (a by-number answer is not cached:
a reorg changes it). Also the chain's final block, by the node's `finalized` tag or by depth."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from timemachine.archive.layout import BlockRange
from timemachine.errors import RpcBadResponseError
from timemachine.hexutil import quantity
from timemachine.ports import ChainRPC

HEADER_BATCH = 100


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int

    @classmethod
    def of(cls, block: Any) -> Header:
        if not isinstance(block, dict):
            raise RpcBadResponseError(f"the node answered no block ({block!r})")
        number, timestamp = quantity(block.get("number")), quantity(block.get("timestamp"))
        if number is None or timestamp is None:
            raise RpcBadResponseError("the node answered a block without number or timestamp")
        return cls(number, str(block["hash"]).lower(), str(block["parentHash"]).lower(), timestamp)


async def headers(rpc: ChainRPC, first: int, last: int) -> list[Header]:
    """Blocks `first`..`last` (both inclusive), canonical as the node sees them now."""
    found: list[Header] = []
    for start in range(first, last + 1, HEADER_BATCH):
        stop = min(start + HEADER_BATCH, last + 1)
        calls = [("eth_getBlockByNumber", [hex(n), False]) for n in range(start, stop)]
        found.extend(Header.of(block) for block in await rpc.batch(calls))
    return found


async def final_block(rpc: ChainRPC, confirmations: int | None) -> int:
    """The highest block that can no longer be reorganized: head - `confirmations`, or with None
    the node's `finalized` block (-1: none yet)."""
    if confirmations is None:
        block = await rpc.call("eth_getBlockByNumber", ["finalized", False])
        return Header.of(block).number
    head = quantity(await rpc.call("eth_blockNumber", []))
    if head is None:
        raise RpcBadResponseError("the node answered no block number")
    return head - confirmations


@dataclass(frozen=True)
class BlockClock:
    """The chain as a clock over a range: a time t belongs to block b when
    timestamp(b) <= t < timestamp(b + 1); the range's window ends at the timestamp of the block
    after it. Contiguous ranges have contiguous windows, so a timed row lands in one chunk."""

    first: int
    times: tuple[int, ...]
    """Timestamps of the range's blocks and of the block after it."""

    @classmethod
    def of(cls, range_headers: list[Header]) -> BlockClock:
        return cls(range_headers[0].number, tuple(h.timestamp for h in range_headers))

    @property
    def window(self) -> tuple[int, int]:
        return self.times[0], self.times[-1]

    def block_at(self, t: float) -> int | None:
        """The block of time `t`, or None when `t` is outside the range's window."""
        start, end = self.window
        if not start <= t < end:
            return None
        return self.first + bisect.bisect_right(self.times, t) - 1


async def clock(rpc: ChainRPC, blocks: BlockRange) -> BlockClock:
    return BlockClock.of(await headers(rpc, blocks.start, blocks.end))
