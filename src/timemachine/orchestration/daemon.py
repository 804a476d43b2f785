"""The replay daemon: one process that keeps the engine warm between CLI commands.

A CLI replay pays for Python's imports, anvil's start and the fork's first state fetches; the
daemon pays them once. It keeps one `TimeMachine` per upstream on a shared runtime (anvil fork
pool, decoder, state-gateway caches), answers `replay` requests from `daemon_link` clients, and
stops after `idle_timeout` seconds without a request (or on `stop`, SIGTERM or SIGINT).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from timemachine.errors import InvalidInputError, TimeMachineError
from timemachine.logs import get_logger
from timemachine.machine import TimeMachine, resolve_rpc_url
from timemachine.models import ReplayMode, ReplayResult
from timemachine.orchestration.daemon_link import DaemonLink, ReplayRequest
from timemachine.processes import InstanceLock
from timemachine.runtime import Runtime, build
from timemachine.settings import Settings

REQUEST_LIMIT = 16 * 2**20
"""Bytes of one request line (a sequence of thousands of hashes fits)."""
DAEMON_LOCK = "daemon.lock"
"""Lock file in the data directory: one daemon per data directory."""
_RESULTS = TypeAdapter(list[ReplayResult])
log = get_logger(__name__)


async def replay_targets(machine: TimeMachine, request: ReplayRequest) -> list[ReplayResult]:
    """What `timemachine replay` runs: one raw signed tx on top of a block, one mined tx (exact
    or quick), or several mined txs in sequence on one fork."""
    targets = request.targets
    if not targets:
        raise InvalidInputError("give at least one transaction hash")
    if len(targets) == 1 and len(targets[0].strip()) > 66:
        return [await machine.replay_raw(targets[0], block_number=request.block)]
    if request.block is not None:
        raise InvalidInputError("--block applies to a raw signed transaction only")
    if len(targets) == 1:
        mode: ReplayMode = "quick" if request.quick else "exact"
        return [await machine.replay(targets[0], mode=mode, compare_trace=request.compare_trace)]
    if request.quick or request.compare_trace:
        raise InvalidInputError("--quick and --compare-trace apply to one transaction")
    return await machine.replay_many(targets)


def results_json(results: Sequence[ReplayResult]) -> str:
    """`replay --json`'s output: one result as an object, several as a list (pydantic's encoder:
    the stdlib one is ~50x slower on deep call trees)."""
    if len(results) == 1:
        return results[0].model_dump_json(indent=2)
    return _RESULTS.dump_json(list(results), indent=2).decode()


def results_from_json(text: bytes) -> list[ReplayResult]:
    """The results `results_json` wrote. Parsed by the stdlib first: pydantic's JSON parser
    refuses the nesting of a call tree ~100 frames deep; its validator of Python objects
    does not."""
    document = json.loads(text)
    if isinstance(document, list):
        return _RESULTS.validate_python(document)
    return [ReplayResult.model_validate(document)]


@dataclass
class DaemonStats:
    started: float = field(default_factory=time.time)
    served: int = 0
    failed: int = 0
    running: int = 0
    last_request: float = field(default_factory=time.monotonic)


class ReplayDaemon:
    """The warm engine behind the loopback port a `DaemonLink` names."""

    def __init__(self, settings: Settings, *, idle_timeout: float) -> None:
        self.runtime: Runtime = build(settings)
        self.data_dir = Path(settings.data_dir or ".")
        self.idle_timeout = idle_timeout
        self.stats = DaemonStats()
        self.machines: dict[str, TimeMachine] = {}
        self.token = secrets.token_urlsafe(32)
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Serve until stopped; the link file exists exactly while requests are accepted."""
        lock = InstanceLock(self.data_dir / DAEMON_LOCK, "replay daemon")
        lock.acquire()
        server = await asyncio.start_server(self._answer, "127.0.0.1", 0, limit=REQUEST_LIMIT)
        port = int(server.sockets[0].getsockname()[1])
        link = DaemonLink(port=port, token=self.token, pid=os.getpid())
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)
        link.write(self.data_dir)
        try:
            async with server:
                await self._until_stopped()
        finally:
            link.remove(self.data_dir)
            for machine in self.machines.values():
                await machine.aclose()
            await self.runtime.aclose()
            lock.release()

    async def _until_stopped(self) -> None:
        while not self._stopping.is_set():
            idle = time.monotonic() - self.stats.last_request
            if not self.stats.running and idle >= self.idle_timeout:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=min(self.idle_timeout, 5))

    async def machine(self, rpc_url: str | None) -> TimeMachine:
        """The warm machine of this upstream (made on first use)."""
        url = resolve_rpc_url(rpc_url, self.runtime.settings)
        if url not in self.machines:
            self.machines[url] = TimeMachine(url, runtime=self.runtime)
        return self.machines[url]

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.stats.started, 1),
            "replays": self.stats.served,
            "failed": self.stats.failed,
            "running": self.stats.running,
            "upstreams": len(self.machines),
            "live_forks": len(self.runtime.forks.live()) if self.runtime.has_forks else 0,
            "idle_timeout_seconds": self.idle_timeout,
        }

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.running += 1
        try:
            header, body = await self._handle(await reader.readline())
            writer.write(json.dumps(header).encode() + b"\n" + body)
            await writer.drain()
        except ConnectionError:
            pass  # the client went away (Ctrl-C): nothing to answer
        finally:
            self.stats.running -= 1
            self.stats.last_request = time.monotonic()
            writer.close()

    async def _handle(self, line: bytes) -> tuple[dict[str, Any], bytes]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise InvalidInputError("a daemon request is one JSON object")
            if not hmac.compare_digest(str(request.pop("token", "")), self.token):
                raise InvalidInputError(
                    "wrong daemon token (is the link file from another daemon?)"
                )
            body = await self._dispatch(str(request.pop("command", "")), request)
        except TimeMachineError as error:
            self.stats.failed += 1
            return {"ok": False, "error": str(error), "exit_code": error.exit_code}, b""
        except (ValueError, TypeError) as error:
            self.stats.failed += 1
            return {"ok": False, "error": f"malformed daemon request: {error}", "exit_code": 2}, b""
        except Exception as error:  # answered as the CLI reports its own internal errors
            self.stats.failed += 1
            log.exception("daemon request failed")
            message = f"internal error: {type(error).__name__}: {error}"
            return {"ok": False, "error": message, "internal": True}, b""
        return {"ok": True}, body

    async def _dispatch(self, command: str, fields: dict[str, Any]) -> bytes:
        if command == "status":
            return json.dumps(self.status()).encode()
        if command == "stop":
            self._stopping.set()
            return b"{}"
        if command == "replay":
            request = ReplayRequest(**fields)
            if not all(isinstance(target, str) for target in request.targets):
                raise InvalidInputError("replay targets are transaction hashes or a raw tx")
            machine = await self.machine(request.rpc_url)
            results = await replay_targets(machine, request)
            self.stats.served += 1
            return results_json(results).encode()
        raise InvalidInputError(f"unknown daemon command {command!r}")
