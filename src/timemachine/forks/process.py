"""One anvil process: free port, readiness wait, crash detection, and a death tied to ours.

Each child gets PR_SET_PDEATHSIG=SIGKILL (Linux), so even if Python is killed with SIGKILL no anvil
outlives it; normal exits, exceptions and SIGTERM/SIGINT are handled by the ForkManager. Linux
ties that signal to the *thread* that forked the child, so every anvil is spawned from one
long-lived thread: a fork started from a short-lived worker thread would otherwise die with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import httpx

from timemachine.errors import EngineError
from timemachine.logs import redact_text
from timemachine.processes import die_with_parent

_PORT_ATTEMPTS = 5
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anvil-spawner")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (anvil binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _check_port_free(port: int) -> None:
    """EngineError unless 127.0.0.1:port can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as error:
            raise EngineError(
                f"port {port} on 127.0.0.1 is already in use ({error.strerror}); choose another "
                "port or omit it to let Time Machine pick a free one"
            ) from error


def _spawn(command: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - only sets the death signal
    )


class AnvilProcess:
    """A running anvil bound to 127.0.0.1:port. Use `start`, then `stop` (idempotent)."""

    def __init__(self, binary: Path, args: Sequence[str], port: int) -> None:
        self.binary = binary
        self.args = list(args)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        command = [str(binary), "--host", "127.0.0.1", "--port", str(port), *self.args]
        self._popen = _SPAWNER.submit(_spawn, command, self._log).result()

    @classmethod
    async def start(
        cls, binary: Path, args: Sequence[str], *, timeout: float = 20.0, port: int | None = None
    ) -> AnvilProcess:
        """Start anvil and wait until it answers JSON-RPC; retries on a port that was taken."""
        if port is not None:
            # Otherwise another server on that port could answer the readiness poll for us.
            _check_port_free(port)
        for attempt in range(_PORT_ATTEMPTS):
            process = cls(binary, args, port or free_port())
            try:
                await process.wait_ready(timeout)
            except EngineError:
                port_taken = "address already in use" in process.output().lower()
                process.stop()
                if port_taken and port is None and attempt < _PORT_ATTEMPTS - 1:
                    continue
                raise
            except BaseException:  # cancelled or interrupted while waiting: do not leak it
                process.stop()
                raise
            return process
        raise AssertionError("unreachable: the last attempt returns or raises")

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def alive(self) -> bool:
        return self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def output(self, limit: int = 4000) -> str:
        """The last `limit` characters anvil printed (for error messages)."""
        self._log.seek(0)
        text = self._log.read().decode(errors="replace")
        return text[-limit:]

    def crash_error(self, context: str) -> EngineError:
        """An EngineError describing why this process is gone."""
        last_line = next(
            (line for line in reversed(self.output().splitlines()) if line.strip()), "no output"
        )
        # anvil repeats its --fork-url in errors; the URL may carry a provider key.
        last_line = redact_text(last_line.strip())
        return EngineError(f"anvil {context} (exit code {self.returncode}): {last_line[:300]}")

    async def wait_ready(self, timeout: float) -> None:
        """Poll eth_chainId until anvil answers; raise EngineError on exit or timeout."""
        deadline = time.monotonic() + timeout
        payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        async with httpx.AsyncClient(timeout=1.0, verify=False) as client:  # plain loopback HTTP
            delay = 0.002
            while True:
                if not self.alive:
                    raise self.crash_error("exited while starting")
                with contextlib.suppress(httpx.TransportError):
                    response = await client.post(self.url, json=payload)
                    if response.status_code == 200 and "result" in response.json():
                        return
                if time.monotonic() > deadline:
                    raise EngineError(f"anvil did not answer on {self.url} within {timeout:g}s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.05)

    def stop(self) -> None:
        """Terminate (then kill) the process and reap it. Safe to call twice."""
        if self.alive:
            self._popen.terminate()
            try:
                self._popen.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait(timeout=3)
