"""One long-lived engine per worker process: an event loop in a thread, the fork manager with its
warm pool, one `TimeMachine` per upstream, and the embedded devnet once something needs it.

Celery tasks are synchronous; they hand coroutines to this loop (`run`) so warm forks, RPC
connections and the devnet survive from one task to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from timemachine.catalog.devnet import DEVNET_CHAIN_ID
from timemachine.errors import InvalidInputError
from timemachine.forks.devnet import Devnet, run_devnet
from timemachine.forks.manager import ForkManager
from timemachine.machine import TimeMachine
from timemachine.settings import Settings, get_settings

T = TypeVar("T")


class EngineRuntime:
    """The engine of one process. Thread-safe: `run` may be called from any thread."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="engine")
        self._thread.start()
        self._forks: ForkManager | None = None
        self._machines: dict[str, TimeMachine] = {}
        self._devnet: Devnet | None = None
        self._devnet_stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the engine loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def forks(self) -> ForkManager:
        if self._forks is None:
            self._forks = ForkManager(self.settings)
        return self._forks

    async def devnet(self) -> Devnet:
        """The embedded devnet with the bundled scenarios (started on first use, ~4 s)."""
        async with self._lock:
            if self._devnet is None:
                self._devnet = await self._devnet_stack.enter_async_context(
                    run_devnet(settings=self.settings)
                )
            return self._devnet

    async def rpc_url(self, chain_id: int) -> str:
        """The upstream for `chain_id`: the embedded devnet, or the configured RPC of the chain."""
        if chain_id == DEVNET_CHAIN_ID:
            return (await self.devnet()).rpc_url
        configured = {
            1: self.settings.web3_rpc_url,
            56: self.settings.bsc_rpc_url,
            137: self.settings.polygon_rpc_url,
        }.get(chain_id)
        if not configured:
            raise InvalidInputError(
                f"no RPC configured for chain {chain_id}: set WEB3_RPC_URL (Ethereum), "
                "BSC_RPC_URL or POLYGON_RPC_URL, or replay on the embedded devnet (31337)"
            )
        return configured

    async def machine(self, chain_id: int) -> TimeMachine:
        """A warm TimeMachine on `chain_id`'s upstream (forks shared across upstreams)."""
        url = await self.rpc_url(chain_id)
        machine = self._machines.get(url)
        if machine is None:
            machine = TimeMachine(url, settings=self.settings, forks=self.forks)
            self._machines[url] = machine
        return machine

    async def reap_forks(self, ttl: float | None = None) -> int:
        """Stop forks unused for `ttl` seconds (default: the fork TTL); how many were stopped."""
        return await self.forks.reap_expired(ttl=ttl) if self._forks else 0

    def live_forks(self) -> int:
        return len(self._forks.live()) if self._forks else 0

    def close(self) -> None:
        """Stop every fork and the devnet, then the loop. Idempotent."""
        if self._loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self.run(self._aclose(), timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _aclose(self) -> None:
        for machine in self._machines.values():
            await machine.aclose()
        self._machines.clear()
        if self._forks is not None:
            await self._forks.shutdown()
        await self._devnet_stack.aclose()
        self._devnet = None
