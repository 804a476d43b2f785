"""Warm forks of the chain's latest head, shared by every simulation.

A `ForkBackend` over the fork manager's warm processes: each fork is started once, reset
(`anvil_reset`) when the head moved, and otherwise brought back to the head by reverting to a
snapshot taken right after the reset — so a simulation costs no process start and no re-fetch
of state already loaded at this head."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from timemachine.errors import RpcError
from timemachine.ports import REPLAY_ARGS, ForkBackend, ForkSpec, LiveFork


@dataclass(eq=False)
class WarmFork:
    fork: LiveFork
    head: int | None = None
    snapshot: str | None = None
    dirty: bool = False


class HeadForks:
    """`size` forks of `upstream`, each handed to one simulation at a time."""

    name = "head-forks"

    def __init__(self, backend: ForkBackend, upstream: str, *, size: int = 2) -> None:
        self.backend = backend
        self.upstream = upstream
        self.size = size
        self.resets = 0
        self._idle: asyncio.Queue[WarmFork] = asyncio.Queue()
        self._all: list[WarmFork] = []
        self._lent: dict[int, WarmFork] = {}

    def spec(self, block_number: int) -> ForkSpec:
        return ForkSpec(
            upstream_url=self.upstream, block_number=block_number, extra_args=REPLAY_ARGS
        )

    async def start(self, block_number: int) -> None:
        """Start the forks at `block_number` (once)."""
        while len(self._all) < self.size:
            fork = await self.backend.acquire(self.spec(block_number))
            warm = WarmFork(fork, block_number)
            warm.snapshot = await fork.rpc.call("evm_snapshot")
            self._all.append(warm)
            self._idle.put_nowait(warm)

    async def acquire(self, spec: ForkSpec) -> LiveFork:
        """A fork at `spec.block_number`, exclusively yours until `release`."""
        if spec.block_number is None:
            raise ValueError("head forks need a block number")
        warm = await self._idle.get()
        try:
            await self._bring_to(warm, spec.block_number)
        except BaseException:
            warm.dirty = True
            self._idle.put_nowait(warm)
            raise
        self._lent[id(warm.fork)] = warm
        return warm.fork

    async def release(self, fork: LiveFork, *, keep_warm: bool = True) -> None:
        warm = self._lent.pop(id(fork))
        warm.dirty = warm.dirty or not keep_warm
        self._idle.put_nowait(warm)

    def spoil(self, fork: LiveFork) -> None:
        """The fork's state is unknown (a simulation was cut short): reset it before reuse."""
        for warm in self._all:
            if warm.fork is fork:
                warm.dirty = True

    async def _bring_to(self, warm: WarmFork, block_number: int) -> None:
        rpc = warm.fork.rpc
        if warm.head == block_number and not warm.dirty and warm.snapshot is not None:
            try:
                if await rpc.call("evm_revert", [warm.snapshot]):
                    warm.snapshot = await rpc.call("evm_snapshot")
                    return
            except RpcError:
                pass
        forking = {"jsonRpcUrl": self.upstream, "blockNumber": block_number}
        await rpc.call("anvil_reset", [{"forking": forking}])
        self.resets += 1
        warm.head, warm.dirty = block_number, False
        warm.snapshot = await rpc.call("evm_snapshot")

    async def aclose(self) -> None:
        """Give every fork back to the backend (stopped)."""
        for warm in self._all:
            await self.backend.release(warm.fork, keep_warm=False)
        self._all.clear()
