"""The composition root: `build(settings)` chooses every adapter once and hands out the parts.

`machine.TimeMachine`, `orchestration.runtime.EngineRuntime`, `api.app.create_app` and the Celery
tasks (`tasks.context`) all start from here; engine classes get explicit small config objects
(`ForkSettings`, URLs), never the global settings. Service-stack parts (database, event bus,
job queue) are imported only when asked for, so the library runs without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from timemachine.chain.gateway import StateGateway
from timemachine.chain.pool import open_upstream
from timemachine.chain.rpc import RpcClient
from timemachine.errors import InvalidInputError
from timemachine.forks.manager import ForkManager
from timemachine.models.capsule import Capsule
from timemachine.ports import BackendName, EventBus, ForkBackend
from timemachine.replay.backends import ByFork, PyEvmBackend, pick_backend, prefers_pyevm
from timemachine.replay.capsule import capsule_submissions
from timemachine.replay.engine import ReplayEngine
from timemachine.settings import ForkSettings, Settings, get_settings
from timemachine.trace.decoder import Decoder

if TYPE_CHECKING:
    from timemachine.bus.jetstream import JetStreamBus
    from timemachine.store import Database


def default_decoder() -> Decoder:
    """A decoder knowing the bundled signature table and every bundled contract's ABI."""
    from timemachine.catalog.artifacts import bundled_abis

    decoder = Decoder()
    for abi in bundled_abis():
        decoder.register_abi(abi)
    return decoder


@dataclass
class Runtime:
    """The parts of one process, wired from one `Settings`."""

    settings: Settings
    backend: BackendName = "auto"
    pyevm: ForkBackend = field(default_factory=PyEvmBackend)
    _decoder: Decoder | None = None
    _forks: ForkManager | None = None

    @property
    def forks(self) -> ForkManager:
        """The anvil backend (a pool of warm forks, shared by every upstream; made on first
        use, so a process that never forks installs no exit handlers)."""
        if self._forks is None:
            self._forks = ForkManager(ForkSettings.of(self.settings))
        return self._forks

    @property
    def has_forks(self) -> bool:
        """Whether the fork manager was made (something forked)."""
        return self._forks is not None

    @property
    def decoder(self) -> Decoder:
        if self._decoder is None:
            self._decoder = default_decoder()
        return self._decoder

    def upstream(self, urls: str) -> RpcClient:
        """The upstream of `urls` (one URL or a comma-separated provider list): a plain JSON-RPC
        client for one http URL, a failover pool otherwise (`chain.pool.open_upstream`)."""
        return open_upstream(urls, self.settings)

    def fork_backend(self) -> ForkBackend:
        """The backend forks of an upstream run on: per fork, the exact one for its hardfork
        and transactions with `auto` (replay.backends.ByFork)."""
        return ByFork(self.forks, self.pyevm, self.backend)

    def capsule_backend(self, capsule: Capsule, choice: BackendName | None = None) -> ForkBackend:
        """The backend a capsule replays on (`auto`: py-evm before London when every transaction
        is signed, anvil otherwise)."""
        submissions = capsule_submissions(capsule)[1]
        return pick_backend(
            choice or self.backend,
            self.forks,
            self.pyevm,
            prefer_pyevm=prefers_pyevm(capsule.hardfork, submissions),
        )

    def replay_engine(self, upstream: RpcClient, gateway: StateGateway | None) -> ReplayEngine:
        return ReplayEngine(
            upstream,
            self.fork_backend(),
            self.decoder,
            gateway=gateway,
            prefetch=self.settings.prefetch_state,
        )

    def database(self) -> Database:
        from timemachine.store import open_database

        return open_database(self.settings.database_url)

    def bus(self) -> EventBus:
        """The event bus (a new one per call: each owner closes its own): JetStream with
        EVENT_BUS_URL, else Redis pub/sub with REDIS_URL, else in-process."""
        from timemachine.bus import bus_of

        return bus_of(self.settings)

    def consumer(self) -> JetStreamBus:
        """Durable consumer groups across processes: needs EVENT_BUS_URL (in one process,
        consume from the `LocalBus` the events are published on)."""
        if not self.settings.event_bus_url:
            raise InvalidInputError(
                "consumer groups across processes need EVENT_BUS_URL=nats://host:4222 "
                "(NATS with JetStream)"
            )
        from timemachine.bus import StreamSettings
        from timemachine.bus.jetstream import JetStreamBus

        return JetStreamBus(self.settings.event_bus_url, StreamSettings.of(self.settings))

    async def aclose(self) -> None:
        """Stop every fork of this runtime."""
        if self._forks is not None:
            await self._forks.shutdown()


def build(
    settings: Settings | None = None,
    *,
    backend: BackendName = "auto",
    forks: ForkManager | None = None,
    decoder: Decoder | None = None,
) -> Runtime:
    """The runtime of `settings` (default: the process settings, read from the environment)."""
    settings = settings or get_settings()
    return Runtime(
        settings=settings,
        backend=backend,
        _decoder=decoder,
        _forks=forks,
    )
