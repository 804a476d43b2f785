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
from timemachine.chain.registry import configured_rpc_url
from timemachine.chain.rpc import redact_url
from timemachine.devnet import Devnet, run_devnet
from timemachine.errors import InvalidInputError
from timemachine.forks.manager import ForkManager
from timemachine.logs import get_logger
from timemachine.machine import TimeMachine
from timemachine.runtime import Runtime, build
from timemachine.security.outbound import GuardedRpcClient, OutboundPolicy
from timemachine.security.vault import Vault
from timemachine.settings import Settings
from timemachine.store import Database, ProviderCredentials

T = TypeVar("T")
log = get_logger(__name__)


def no_rpc_error(chain_id: int) -> InvalidInputError:
    """What to say when nothing can serve `chain_id`."""
    return InvalidInputError(
        f"no RPC configured for chain {chain_id}: set WEB3_RPC_URL (Ethereum), BSC_RPC_URL or "
        "POLYGON_RPC_URL, store a provider credential for it (POST /api/credentials), or "
        f"replay on the embedded devnet ({DEVNET_CHAIN_ID})"
    )


def has_default_rpc(chain_id: int, settings: Settings) -> bool:
    """Whether the embedded devnet or a configured RPC serves `chain_id` (no credential needed)."""
    return chain_id == DEVNET_CHAIN_ID or configured_rpc_url(chain_id, settings) is not None


class EngineRuntime:
    """The engine of one process. Thread-safe: `run` may be called from any thread."""

    def __init__(self, settings: Settings | Runtime | None = None) -> None:
        self.root = settings if isinstance(settings, Runtime) else build(settings)
        self.settings = self.root.settings
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="engine")
        self._thread.start()
        self._machines: dict[str, TimeMachine] = {}
        self._devnet: Devnet | None = None
        self._devnet_stack = contextlib.AsyncExitStack()
        self._lock = asyncio.Lock()
        self._vault: Vault | None = None

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the engine loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def forks(self) -> ForkManager:
        return self.root.forks

    async def devnet(self) -> Devnet:
        """The embedded devnet with the bundled scenarios (started on first use, ~4 s)."""
        async with self._lock:
            if self._devnet is None:
                self._devnet = await self._devnet_stack.enter_async_context(
                    run_devnet(settings=self.settings)
                )
            return self._devnet

    async def rpc_url(
        self, chain_id: int, *, owner: str | None = None, db: Database | None = None
    ) -> str:
        """The upstream URL for `chain_id`: the owner's stored provider credential for that chain
        when there is one (`owner` and `db` given), else the embedded devnet (31337) or the
        configured RPC of the chain. The returned URL may hold a key: log `redact_url(url)`."""
        return (await self._resolve_rpc_url(chain_id, owner=owner, db=db))[0]

    async def _resolve_rpc_url(
        self, chain_id: int, *, owner: str | None, db: Database | None
    ) -> tuple[str, bool]:
        """`rpc_url`, and whether the URL is user-supplied (a stored credential: it goes through
        the outbound policy) rather than operator configuration or the devnet."""
        if owner is not None and db is not None:
            stored = await asyncio.to_thread(self._owner_url, db, owner, chain_id)
            if stored is not None:
                log.info(
                    "using the owner's provider credential",
                    owner=owner,
                    chain_id=chain_id,
                    upstream_url=redact_url(stored),
                )
                return stored, True
        if chain_id == DEVNET_CHAIN_ID:
            return (await self.devnet()).rpc_url, False
        configured = configured_rpc_url(chain_id, self.settings)
        if not configured:
            raise no_rpc_error(chain_id)
        return configured, False

    @property
    def vault(self) -> Vault:
        """The credential vault of this process (keys read on first use)."""
        if self._vault is None:
            self._vault = Vault.from_settings(self.settings)
        return self._vault

    def _owner_url(self, db: Database, owner: str, chain_id: int) -> str | None:
        with db.session() as s:
            return ProviderCredentials(s, self.vault).provider_url(owner, chain_id)

    async def machine(
        self, chain_id: int, *, owner: str | None = None, db: Database | None = None
    ) -> TimeMachine:
        """A warm TimeMachine on the upstream `rpc_url` picks (forks shared across upstreams)."""
        url, user_supplied = await self._resolve_rpc_url(chain_id, owner=owner, db=db)
        key = ("user:" if user_supplied else "") + url
        machine = self._machines.get(key)
        if machine is None:
            upstream = None
            if user_supplied:
                upstream = GuardedRpcClient(
                    url,
                    OutboundPolicy.from_settings(self.settings),
                    timeout=self.settings.rpc_timeout,
                    retries=self.settings.rpc_retries,
                    backoff=self.settings.rpc_backoff,
                )
            machine = TimeMachine(url, runtime=self.root, upstream=upstream)
            self._machines[key] = machine
        return machine

    async def reap_forks(self, ttl: float | None = None) -> int:
        """Stop forks unused for `ttl` seconds (default: the fork TTL); how many were stopped."""
        return await self.forks.reap_expired(ttl=ttl) if self.root.has_forks else 0

    def live_forks(self) -> int:
        return len(self.forks.live()) if self.root.has_forks else 0

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
        await self.root.aclose()
        await self._devnet_stack.aclose()
        self._devnet = None
