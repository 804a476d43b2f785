"""Real worker processes and the machine's services for the service tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from kombu import Connection, Queue

from tests.conftest import IN_CI
from timemachine.bus import LocalBus
from timemachine.devnet import Devnet
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.orchestration.progress import Reporter
from timemachine.settings import Settings
from timemachine.store import Database, ReplaySessions
from timemachine.tasks.app import QUEUES, create_celery
from timemachine.tasks.queue import CeleryQueue
from timemachine.tasks.submit import enqueue

T = TypeVar("T")
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/13"
SERVICE_URLS = {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL"}


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


def start_worker(
    settings: Settings,
    folder: Path,
    *,
    concurrency: int = 1,
    queues: str = "replay,analysis,cleanup",
) -> Worker:
    """A real prefork Celery worker on `queues`, in its own process group."""
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
        queues,
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


def devnet_hashes(devnet: Devnet) -> list[str]:
    """Real devnet transactions (every worker's devnet builds the same deterministic history)."""
    return [*(scenario.exploit_tx for scenario in devnet.history.scenarios), devnet.history.busy_tx]


def queue_transaction_sessions(
    db: Database,
    settings: Settings,
    hashes: Sequence[str],
    count: int,
    per_session: int,
    owner: str,
) -> list[str]:
    """`count` transaction sessions of `per_session` of `hashes` each (rotating), queued."""
    queue = CeleryQueue(create_celery(settings))
    ids = []
    for index in range(count):
        txs = [hashes[(index + i) % len(hashes)] for i in range(per_session)]
        request = {"transactions": [{"hash": tx, "chain_id": 31337} for tx in txs]}
        with db.session() as s:
            record = ReplaySessions(s).create(owner=owner, kind="transactions", request=request)
        enqueue(queue, record, Reporter(db, LocalBus(), record.id))
        ids.append(record.id)
    return ids


def session_records(db: Database, ids: Sequence[str]) -> list[ReplaySessionRecord]:
    with db.session() as s:
        sessions = ReplaySessions(s)
        return [sessions.require(session_id) for session_id in ids]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bootstrap_password(log: Path) -> str:
    """The bootstrap admin's password, printed once by the server on first start."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = re.search(r"password: (\S+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.2)
    raise AssertionError("the server printed no bootstrap admin password")


def login(base: str, username: str, password: str) -> str:
    """An access token for `username`."""
    response = httpx.post(
        f"{base}/api/auth/login", json={"username": username, "password": password}, timeout=10
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def server_env(*drop_prefixes: str) -> dict[str, str]:
    """This process's environment without the service URLs (and the variables starting with
    `drop_prefixes`): a server started for a test sees only the settings the test gives it."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in SERVICE_URLS and not name.startswith(drop_prefixes)
    }


@dataclass
class LiveServer:
    """A running `timemachine serve` process."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path
    env: dict[str, str]

    def admin_headers(self) -> dict[str, str]:
        """Logged in as the bootstrap admin."""
        return {
            "Authorization": f"Bearer {login(self.base, 'admin', bootstrap_password(self.log))}"
        }

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", 10)
        return httpx.request(method, self.base + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


@contextlib.contextmanager
def live_server(
    folder: Path,
    arguments: Sequence[str],
    env: Mapping[str, str],
    *,
    startup_timeout: float = 30.0,
    stop_timeout: float = 30.0,
) -> Iterator[LiveServer]:
    """`timemachine serve ARGUMENTS` on a free port with `env` (log: FOLDER/serve.log), once its
    health endpoint answers; terminated (killed after `stop_timeout` s) on exit."""
    port = free_port()
    full_env = {**env, "TIME_MACHINE_PORT": str(port)}
    log = folder / "serve.log"
    command = [sys.executable, "-m", "timemachine.cli.main", "serve", *arguments]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{base}/api/system/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not come up"
            time.sleep(0.2)
        yield LiveServer(process, base, log, full_env)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
