"""Real worker processes and the machine's services for the service tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from kombu import Connection, Queue

from tests.conftest import IN_CI
from timemachine.settings import Settings
from timemachine.tasks.app import QUEUES

T = TypeVar("T")
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/13"


def require_service(name: str, host: str, port: int) -> None:
    """Skip (outside CI) or fail (in CI) when nothing listens on host:port."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        reason = f"{name} is not reachable on {host}:{port}"
        if IN_CI:
            pytest.fail(f"{reason} (CI must not skip integration tests)")
        pytest.skip(reason)


def service_env(settings: Settings) -> dict[str, str]:
    """The environment a worker process needs to see `settings`."""
    env = dict(os.environ)
    env["TIME_MACHINE_DATA_DIR"] = str(settings.data_dir)
    env["DATABASE_URL"] = settings.database_url
    for name, value in (
        ("CELERY_BROKER_URL", settings.celery_broker_url),
        ("CELERY_RESULT_BACKEND", settings.celery_result_backend),
        ("REDIS_URL", settings.redis_url),
        ("ANVIL_PATH", str(settings.anvil_path) if settings.anvil_path else None),
    ):
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    env["BROKER_VISIBILITY_TIMEOUT"] = str(settings.broker_visibility_timeout)
    env["SESSION_LEASE_SECONDS"] = str(settings.session_lease_seconds)
    return env


def parent_of(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return None


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_of(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


@dataclass
class Worker:
    """A `celery worker` process group started for a test."""

    process: subprocess.Popen[bytes]
    log: Path

    def anvils(self) -> set[int]:
        return {pid for pid in descendants(self.process.pid) if "anvil" in command_of(pid)}

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as an OOM killer would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM); SIGKILL after 60 s."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()


def start_worker(settings: Settings, folder: Path, *, concurrency: int = 1) -> Worker:
    """A real prefork Celery worker on all queues, in its own process group."""
    log = folder / f"worker-{uuid.uuid4().hex[:8]}.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "timemachine.tasks.app",
        "worker",
        "-P",
        "prefork",
        "-c",
        str(concurrency),
        "-Q",
        "replay,analysis,cleanup",
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "info",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=service_env(settings), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return Worker(process, log)


def wait_for(probe: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout:g} s waiting for {what}")


def purge_queues(broker: str) -> None:
    """Drop messages earlier runs may have left in the shared broker's queues."""
    with Connection(broker) as connection:
        for name in QUEUES:
            queue = Queue(name, channel=connection.default_channel)
            queue.declare()
            queue.purge()
