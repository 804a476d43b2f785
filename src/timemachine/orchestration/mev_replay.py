"""Inspect a block for MEV from Time Machine's own replay of it (the "replay results" trace
source): any node that serves blocks and state will do, no tracing API needed."""

from __future__ import annotations

from timemachine.errors import BlockNotFoundError
from timemachine.machine import TimeMachine
from timemachine.mev import block_from_replays, inspect_block
from timemachine.mev.models import BlockInspection


async def inspect_replayed_block(machine: TimeMachine, block_number: int) -> BlockInspection:
    """Replay every transaction of `block_number` in order on one fork and inspect the results."""
    header = await machine.upstream.call("eth_getBlockByNumber", [hex(block_number), False])
    if header is None:
        raise BlockNotFoundError(f"block {block_number} is not known to {machine.upstream.label}")
    results = await machine.replay_many(list(header["transactions"]))
    return inspect_block(block_from_replays(results))
