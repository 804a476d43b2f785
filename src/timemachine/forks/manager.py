"""Fork lifecycle: start forks of an upstream at a block, pool warm processes, enforce a cap and
TTLs, detect crashes, and guarantee that no anvil outlives the Python process."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from timemachine.chain.rpc import RpcClient, redact_url
from timemachine.errors import (
    ArchiveStateUnavailableError,
    ForkLimitError,
    ReplayError,
    RpcError,
    RpcUnavailableError,
)
from timemachine.forks.locate import locate_binary
from timemachine.forks.process import AnvilProcess
from timemachine.logs import get_logger
from timemachine.models import BlockEnv
from timemachine.ports import (
    EXPLORE_ARGS,
    REPLAY_ARGS,
    Call,
    ExecutedBlock,
    ForkSpec,
    LiveFork,
)
from timemachine.settings import ForkSettings, Settings

__all__ = [
    "EXPLORE_ARGS",
    "REPLAY_ARGS",
    "Fork",
    "ForkManager",
    "ForkSpec",
    "env_calls",
]

# Every anvil this interpreter started, so atexit and SIGTERM can kill them all. Strong references:
# a fork whose manager was dropped without releasing it must still be stopped at exit.
_ALL_PROCESSES: set[AnvilProcess] = set()
_handlers_installed = threading.Event()


@dataclass(eq=False)
class Fork:
    """A live anvil with a JSON-RPC client bound to it (the anvil adapter of `LiveFork`)."""

    spec: ForkSpec
    process: AnvilProcess
    rpc: RpcClient
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    created_at: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)

    backend = "anvil"

    @property
    def url(self) -> str:
        return self.process.url

    def touch(self) -> None:
        self.last_used = time.monotonic()

    def check_alive(self, context: str = "fork crashed") -> None:
        """Raise an EngineError with anvil's last words if the process is gone."""
        if not self.process.alive:
            raise self.process.crash_error(context)

    @contextlib.contextmanager
    def crash_guard(self, stage: str) -> Iterator[None]:
        """Turn 'fork unreachable' into 'fork crashed while <stage>' when the process died, and
        'the fork has no state' into 'the upstream has no state for this block'."""
        try:
            yield
        except RpcUnavailableError:
            self.check_alive(f"crashed while {stage}")
            raise
        except ArchiveStateUnavailableError as error:
            source = self.spec.label or redact_url(self.spec.upstream_url or "the upstream")
            raise ArchiveStateUnavailableError(
                f"{source} has no state for block {self.spec.block_number} (it prunes "
                f"history); replay against an archive node. Detail: {error.message}"
            ) from error

    async def execute(
        self,
        env: BlockEnv,
        setup: Sequence[Call],
        submissions: Sequence[Call],
        *,
        what: str = "the transaction",
    ) -> ExecutedBlock:
        """Mine one block with `env` holding exactly `submissions` in order (after `setup`)."""
        with self.crash_guard("replaying the block"):
            await self.rpc.batch([*env_calls(env), *setup])
            sent = await self.rpc.batch_settled(submissions)
            target_error = sent[-1]
            if isinstance(target_error, RpcError):
                raise ReplayError(f"the engine rejected {what}: {target_error.message}")
            await self.rpc.call("evm_mine")
            block, receipts = await self.rpc.batch(
                [("eth_getBlockByNumber", ["latest", False]), ("eth_getBlockReceipts", ["latest"])]
            )
        hashes = [h if isinstance(h, str) else "" for h in sent]
        mined = [h.lower() for h in block["transactions"]]
        expected = [h.lower() for h in hashes if h]
        if mined != expected:
            raise ReplayError(
                f"the engine mined {len(mined)} transactions in another order or number than the "
                f"{len(expected)} sent; the block gas limit may be too low"
            )
        by_hash = {r["transactionHash"].lower(): r for r in receipts}
        return ExecutedBlock(
            block=block, hashes=hashes, receipts=[by_hash.get(h.lower(), {}) for h in hashes]
        )

    async def trace(self, tx_hash: str, *tracers: Mapping[str, Any]) -> list[Any]:
        return await self.rpc.batch(
            [("debug_traceTransaction", [tx_hash, dict(tracer)]) for tracer in tracers]
        )


def env_calls(env: BlockEnv) -> list[Call]:
    """anvil calls that make the next mined block carry `env`'s timestamp, coinbase, fees, limit."""
    calls: list[Call] = [
        ("anvil_setNextBlockTimestamp", [env.timestamp]),
        ("anvil_setCoinbase", [env.coinbase]),
        ("evm_setBlockGasLimit", [hex(env.gas_limit)]),
    ]
    if env.base_fee is not None:
        calls.append(("anvil_setNextBlockBaseFeePerGas", [hex(env.base_fee)]))
    return calls


class ForkManager:
    """Starts and tracks anvil forks (the anvil `ForkBackend`). One per process is typical."""

    name = "anvil"

    def __init__(
        self, settings: ForkSettings | Settings | None = None, binary: Path | None = None
    ) -> None:
        self.settings = ForkSettings.of(settings)
        self._binary = binary
        self._in_use: dict[str, Fork] = {}
        self._idle: list[Fork] = []
        self._lock = asyncio.Lock()
        install_exit_handlers()

    @property
    def binary(self) -> Path:
        if self._binary is None:
            self._binary = locate_binary("anvil", self.settings.anvil_path)
        return self._binary

    def live(self) -> list[Fork]:
        return [*self._in_use.values(), *self._idle]

    async def acquire(self, spec: ForkSpec) -> Fork:
        """A fork matching `spec`: a pooled process reset to the new block, or a new process."""
        async with self._lock:
            await self.reap_expired()
            fork = await self._reuse(spec) or await self._start(spec)
            self._in_use[fork.id] = fork
            fork.touch()
            return fork

    async def release(self, fork: LiveFork, *, keep_warm: bool = True) -> None:
        """Hand a fork back: kept idle for reuse (state is reset on next use) or stopped."""
        if not isinstance(fork, Fork):
            raise TypeError(f"{type(fork).__name__} is not an anvil fork of this manager")
        async with self._lock:
            self._in_use.pop(fork.id, None)
            if keep_warm and fork.process.alive and fork.spec.upstream_url is not None:
                fork.touch()
                self._idle.append(fork)
            else:
                await self._stop(fork)

    @contextlib.asynccontextmanager
    async def fork(self, spec: ForkSpec, *, keep_warm: bool = True) -> AsyncIterator[Fork]:
        """`async with manager.fork(spec) as fork:` — released (or stopped) on every exit path."""
        fork = await self.acquire(spec)
        failed = False
        try:
            yield fork
        except BaseException:
            failed = True
            raise
        finally:
            await self.release(fork, keep_warm=keep_warm and not failed)

    async def reap_expired(self, now: float | None = None, *, ttl: float | None = None) -> int:
        """Stop forks unused for longer than `ttl` seconds (default: the settings' TTL; in use or
        idle: a fork someone forgot to release must not live forever); how many were stopped."""
        now = time.monotonic() if now is None else now
        ttl = self.settings.fork_ttl_seconds if ttl is None else ttl
        expired = [fork for fork in self.live() if now - fork.last_used > ttl]
        for fork in expired:
            await self._stop(fork)
        return len(expired)

    async def shutdown(self) -> None:
        """Stop every fork this manager owns."""
        async with self._lock:
            for fork in self.live():
                await self._stop(fork)

    async def _reuse(self, spec: ForkSpec) -> Fork | None:
        for fork in list(self._idle):
            if fork.spec.pool_key() != spec.pool_key() or not fork.process.alive:
                continue
            self._idle.remove(fork)
            forking = {"jsonRpcUrl": spec.upstream_url, "blockNumber": spec.block_number}
            try:
                await fork.rpc.call("anvil_reset", [{"forking": forking}])
            except RpcError:
                # Dead, or refused the block: stop it (never leak it) and let _start report why.
                await self._stop(fork)
                continue
            fork.spec = spec
            return fork
        return None

    async def _start(self, spec: ForkSpec) -> Fork:
        while len(self.live()) >= self.settings.max_live_forks:
            if not self._idle:
                raise ForkLimitError(
                    f"{len(self._in_use)} forks are live (cap {self.settings.max_live_forks}); "
                    "wait for one to finish or raise MAX_LIVE_FORKS"
                )
            await self._stop(min(self._idle, key=lambda fork: fork.last_used))
        args = spec.start_args()
        if spec.upstream_url is not None:
            # Foundry's on-disk RPC cache is keyed by chain id and block number only: on a local
            # chain whose history changes (every devnet is chain 31337) it would serve stale
            # state, so forks never use it.
            args = ["--fork-url", spec.upstream_url, "--no-storage-caching", *args]
            if spec.block_number is not None:
                args += ["--fork-block-number", str(spec.block_number)]
        with _genesis_file(spec.genesis) as genesis:
            if genesis is not None:
                args += ["--init", str(genesis)]
            process = await AnvilProcess.start(
                self.binary, args, timeout=self.settings.fork_start_timeout
            )
        track_process(process)
        rpc = RpcClient(process.url, timeout=self.settings.rpc_timeout, retries=0)
        get_logger(__name__).debug(
            "fork.started", pid=process.pid, port=process.port, block=spec.block_number
        )
        return Fork(spec=spec, process=process, rpc=rpc)

    async def _stop(self, fork: Fork) -> None:
        self._forget(fork)
        fork.process.stop()
        await fork.rpc.aclose()

    def _forget(self, fork: Fork) -> None:
        self._in_use.pop(fork.id, None)
        if fork in self._idle:
            self._idle.remove(fork)


@contextlib.contextmanager
def _genesis_file(genesis: Mapping[str, Any] | None) -> Iterator[Path | None]:
    """`genesis` as a file for `anvil --init` (read at start; removed once anvil started)."""
    if genesis is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="timemachine-genesis-") as folder:
        path = Path(folder) / "genesis.json"
        path.write_text(json.dumps(genesis))
        yield path


def track_process(process: AnvilProcess) -> None:
    """Make sure `process` is killed at interpreter exit or on SIGTERM."""
    _ALL_PROCESSES.difference_update([old for old in _ALL_PROCESSES if not old.alive])
    _ALL_PROCESSES.add(process)


def kill_all_processes() -> None:
    """Stop every anvil this interpreter started (atexit / signal path; synchronous)."""
    for process in list(_ALL_PROCESSES):
        process.stop()


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    kill_all_processes()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def install_exit_handlers(
    signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGHUP),
) -> None:
    """Kill child forks at interpreter exit and on SIGTERM/SIGHUP (SIGINT unwinds normally).

    A signal handler is only installed where none is set yet, so servers keep their own.
    """
    if _handlers_installed.is_set():
        return
    _handlers_installed.set()
    atexit.register(kill_all_processes)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in signals:
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _on_terminate)
