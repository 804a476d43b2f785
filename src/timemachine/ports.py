"""The ports: small protocols the engine and the shells depend on, never on an adapter.

- `ChainRPC`: what the engine asks of a JSON-RPC provider (`chain.rpc.RpcClient`, a fork's own
  client, py-evm's in-process node).
- `LiveFork` and `ForkBackend`: a fork started (or reset) at a block with a prestate source, that
  sends and mines a block of transactions, traces them and is released. Adapters: anvil
  (`replay.backends.AnvilBackend`, processes of `forks.manager`) and py-evm
  (`replay.backends.PyEvmBackend`, in process); `replay.backends.ByFork` picks one of them per
  fork (the one exact for its hardfork and transactions) and says why.
- `JobQueue`: queue work for workers, ask a job's state, revoke it, see the workers. Adapters:
  Celery (`tasks.queue.CeleryQueue`) and inline (`tasks.queue.InlineQueue`).
- `EventBus`: publish and subscribe to events (`bus.LocalBus`, `bus.RedisBus`,
  `bus.jetstream.JetStreamBus`).
- `Consumer`: durable, acknowledged consumption of a topic by a named group (`bus.LocalBus`,
  `bus.jetstream.JetStreamBus`); see docs/events.md.

Adapters are chosen in one place, `runtime.build`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from timemachine.models import BlockEnv

Call = tuple[str, Sequence[Any]]
"""A JSON-RPC method and its parameters."""

BackendName = Literal["auto", "anvil", "pyevm"]
"""Which engine executes a replay: anvil, py-evm, or `auto` (per fork, the one that matches
geth: py-evm before London and for EIP-7702 set-code transactions, anvil otherwise; see
`replay.backends.exact_backend`)."""

BACKEND_NAMES: tuple[BackendName, ...] = ("auto", "anvil", "pyevm")

Event = dict[str, Any]


class ChainRPC(Protocol):
    """The slice of a JSON-RPC client the engine uses."""

    @property
    def url(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def requests(self) -> int: ...

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any: ...

    async def batch(self, calls: Sequence[Call]) -> list[Any]: ...

    async def batch_settled(self, calls: Sequence[Call]) -> list[Any]: ...


@dataclass(frozen=True)
class ExecutedBlock:
    """The replayed block: our hash for each submitted tx, in order, and their receipts."""

    block: dict[str, Any]
    hashes: list[str]
    receipts: list[dict[str, Any]]


EXPLORE_ARGS = ("--silent",)
# Replays need blocks built exactly as we ask: no automine, transactions in arrival order, and no
# funded dev accounts (anvil would overwrite the real balances of those well-known addresses).
REPLAY_ARGS = (*EXPLORE_ARGS, "--no-mining", "--order", "fifo", "--accounts", "0")


@dataclass(frozen=True)
class ForkSpec:
    """Where a fork's state comes from: a block of an upstream (`upstream_url`, `block_number`), a
    prestate (`genesis`: a geth genesis whose header is the parent block and whose alloc is the
    state), or neither (an empty chain); and the rules it runs under."""

    upstream_url: str | None = None
    block_number: int | None = None
    hardfork: str | None = None
    extra_args: tuple[str, ...] = REPLAY_ARGS
    """anvil arguments (other backends ignore them)."""
    label: str | None = field(default=None, compare=False)
    """How to name the upstream in messages (forks may fetch through a local gateway)."""
    genesis: Mapping[str, Any] | None = field(default=None, compare=False, hash=False)
    set_code: bool = field(default=False, compare=False)
    """A transaction traced on the fork carries an EIP-7702 authorization list (a `ByFork`
    backend runs those where their trace matches geth's)."""
    needs_anvil: str | None = field(default=None, compare=False)
    """Why this fork must be anvil whatever its hardfork (e.g. it is edited and called over
    RPC, or mines several blocks, which py-evm forks do not do); None: any engine."""

    def start_args(self) -> list[str]:
        """anvil arguments fixed at process start (a pooled process is reused only if equal)."""
        args = list(self.extra_args)
        if self.hardfork:
            args += ["--hardfork", self.hardfork]
        return args

    def pool_key(self) -> tuple[str | None, tuple[str, ...]]:
        return (self.upstream_url, tuple(self.start_args()))


class LiveFork(Protocol):
    """A fork in use: send and mine a block, trace its transactions, read its state."""

    @property
    def backend(self) -> str:
        """The engine's name, as the fidelity verdict names it ("anvil", "py-evm")."""
        ...

    @property
    def rpc(self) -> ChainRPC:
        """The fork's JSON-RPC (state reads; anvil's own methods on the anvil backend)."""
        ...

    def crash_guard(self, stage: str) -> contextlib.AbstractContextManager[None]:
        """Engine failures while `stage` become errors that say so."""
        ...

    async def execute(
        self,
        env: BlockEnv,
        setup: Sequence[Call],
        submissions: Sequence[Call],
        *,
        what: str = "the transaction",
    ) -> ExecutedBlock:
        """Mine one block with `env` holding exactly `submissions` in order (after `setup`);
        a refused last submission is a ReplayError naming `what`."""
        ...

    async def trace(self, tx_hash: str, *tracers: Mapping[str, Any]) -> list[Any]:
        """geth's output of each tracer (`{"tracer": ..., "tracerConfig": ...}`) for a mined
        tx, in order (one round trip)."""
        ...


class ForkBackend(Protocol):
    """Starts (or resets a warm) fork for a source, and takes it back."""

    name: str

    async def acquire(self, spec: ForkSpec) -> LiveFork:
        """A fork at `spec`: a warm one reset to it, or a new one."""
        ...

    async def release(self, fork: LiveFork, *, keep_warm: bool = True) -> None:
        """Take `fork` back: kept warm for reuse (reset on next use) or stopped."""
        ...


class JobQueue(Protocol):
    """Work for the workers, by task name (sessions: job id = session id)."""

    @property
    def broker_url(self) -> str: ...

    def enqueue(
        self,
        task: str,
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        job_id: str | None = None,
        retry: bool = False,
    ) -> str:
        """Queue `task(*args, **kwargs)`; its job id. BrokerUnavailableError when refused."""
        ...

    def status(self, job_id: str) -> JobStatus: ...

    def revoke(self, job_id: str) -> None:
        """Stop the job (terminating it if it runs); a delivery problem is logged, not raised."""
        ...

    def ensure_reachable(self) -> None:
        """BrokerUnreachableError unless the queue answers within a short time."""
        ...

    def active(self) -> dict[str, list[dict[str, Any]]]:
        """Running jobs per worker (BrokerUnreachableError when the workers cannot be asked)."""
        ...

    def workers(self) -> dict[str, Any]:
        """Stats per worker that answered."""
        ...

    def broadcast_note(self) -> str | None:
        """Why worker answers may be empty with this queue (None: they are complete)."""
        ...


@dataclass(frozen=True)
class JobStatus:
    """A job's state as the queue knows it."""

    state: str
    ready: bool
    result: Any = None
    error: str | None = None


class EventBus(Protocol):
    """Publish from anywhere (sync: Celery tasks are sync); subscribe from the event loop."""

    def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(self, channel: str) -> AsyncIterator[Event]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a topic's event to a consumer group. `event_id` is the publisher's message
    id (the same on every redelivery: the key of idempotent sinks); `attempt` counts from 1."""

    topic: str
    event_id: str
    event: Event
    attempt: int = 1


Handler = Callable[[Delivery], Awaitable[None]]
"""Handles one delivery: returning acknowledges it, raising has it redelivered (up to the
consumer's max deliveries)."""


class Consumer(Protocol):
    """At-least-once consumption: every group receives every event of a topic; the members of one
    group (tasks, processes, machines) share the group's events between them."""

    async def consume(self, topic: str, group: str, handler: Handler) -> None:
        """Hand the group's next events to `handler` until cancelled."""
        ...
