"""`timemachine serve` and `timemachine worker`: the service's entrypoints (the original spec's
startup script, as commands).

`serve` runs the API (uvicorn, in this process) and, unless `--api-only`, one Celery worker with
N pool processes on the queues replay, analysis and cleanup plus beat, and a mempool monitor per
chain of MONITOR_CHAINS / MONITOR_RPC_URLS, as child processes in their own process groups.
SIGINT/SIGTERM stop it gracefully: the API stops accepting and drains open requests, then each
child gets SIGTERM (Celery's warm shutdown: running tasks finish, pool processes stop their forks;
a monitor stores its last changes), and whatever is still alive after the grace period is killed
with its whole process group (anvil processes included). Nothing is left running.

If `serve` itself dies without a chance to stop them (SIGKILL, a crash), its children die with
it: each is started with the kernel's parent-death signal (SIGKILL) and also watches its parent
pid; their pool processes and anvils have the same death signal. One worker and one beat per data
directory: a second `serve` (or worker) on the same data directory refuses to start.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from timemachine.errors import AddressInUseError, ServiceProcessError
from timemachine.logs import configure_logging, get_logger
from timemachine.processes import (
    BEAT_LOCK,
    SUPERVISOR_PID_ENV,
    WORKER_LOCK,
    InstanceLock,
    die_with_parent,
)
from timemachine.settings import Settings

CELERY_APP = "timemachine.tasks.app"
DEFAULT_QUEUES = ("replay", "analysis", "cleanup", "alerts")
SHUTDOWN_GRACE = 30
"""Seconds a child may take to finish its running tasks after SIGTERM before it is killed."""
BEAT_SCHEDULE_FILE = "celerybeat-schedule"


def worker_command(
    settings: Settings, *, concurrency: int, queues: Sequence[str], beat: bool = False
) -> list[str]:
    """The Celery worker command line for these queues and pool size."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        CELERY_APP,
        "worker",
        "-Q",
        ",".join(queues),
        "-c",
        str(concurrency),
        "-P",
        "prefork",
        "-l",
        settings.log_level.upper(),
    ]
    if beat:
        command += ["-B", "-s", str(_beat_schedule(settings))]
    return command


def beat_command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        CELERY_APP,
        "beat",
        "-l",
        settings.log_level.upper(),
        "-s",
        str(_beat_schedule(settings)),
    ]


def monitor_commands(settings: Settings) -> list[list[str]]:
    """One quiet `timemachine monitor` per chain of MONITOR_CHAINS, and one for MONITOR_RPC_URLS."""
    monitor = [sys.executable, "-m", "timemachine.cli.main", "monitor", "--quiet"]
    monitor += ["--deliver", "queue"]  # its alerts go out through the workers' `alerts` queue
    chains = [c.strip() for c in settings.monitor_chains.split(",") if c.strip()]
    commands = [[*monitor, "--chain", chain] for chain in chains]
    if settings.monitor_rpc_urls.strip():
        commands.append([*monitor, "--rpc-url", settings.monitor_rpc_urls.strip()])
    return commands


def _beat_schedule(settings: Settings) -> Any:
    assert settings.data_dir is not None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir / BEAT_SCHEDULE_FILE


@dataclass
class Children:
    """Child processes, each leading its own process group (so a stop reaches its anvils)."""

    grace: float = SHUTDOWN_GRACE
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        """Start `command` in its own process group; it dies with us however we die (the
        kernel's death signal, and its watchdog compares its parent with our pid)."""
        env = os.environ | {SUPERVISOR_PID_ENV: str(os.getpid())}
        dies_with_us = functools.partial(die_with_parent, signal.SIGKILL, parent=os.getpid())
        try:
            process = subprocess.Popen(
                command,
                start_new_session=True,
                env=env,
                preexec_fn=dies_with_us,  # noqa: PLW1509 - only sets the death signal
            )
        except OSError as exc:
            raise ServiceProcessError(f"cannot start {' '.join(command[:6])}: {exc}") from exc
        self.processes.append(process)
        self.names[process.pid] = name
        return process

    def describe(self, process: subprocess.Popen[bytes]) -> str:
        return f"{self.names.get(process.pid, 'child')} (pid {process.pid})"

    def first_exited(self) -> subprocess.Popen[bytes] | None:
        return next((p for p in self.processes if p.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM each child, wait up to the grace period, then kill every process group."""
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            # The group outlives its leader when pool processes or anvils linger: kill them all.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise AddressInUseError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port "
            "(or TIME_MACHINE_PORT)"
        ) from None
    sock.set_inheritable(True)
    return sock


class _StopFlag:
    """SIGINT/SIGTERM handler: remembers the request and tells the API server to exit."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.server: Any = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()
        if self.server is not None:
            self.server.should_exit = True

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self)


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    dev: bool,
    api_only: bool,
    workers_only: bool,
) -> None:
    """Run the service until SIGINT/SIGTERM (or until a child process dies)."""
    import uvicorn

    configure_logging("DEBUG" if dev else settings.log_level, json=not dev)
    log = get_logger(__name__)
    stop = _StopFlag()
    stop.install()
    children = Children()
    sock = None if workers_only or dev else _listen(host, port)
    try:
        if not api_only:
            assert settings.data_dir is not None
            for lock, what in ((WORKER_LOCK, "worker"), (BEAT_LOCK, "beat")):
                InstanceLock(settings.data_dir / lock, what).check_free()
            command = worker_command(settings, concurrency=workers, queues=DEFAULT_QUEUES)
            children.start("celery worker", command)
            children.start("celery beat", beat_command(settings))
            for command in monitor_commands(settings):
                children.start(f"monitor {command[-1]}", command)
            pids = [p.pid for p in children.processes]
            log.info("workers started", concurrency=workers, pids=pids)
        if workers_only:
            while not stop.event.wait(0.5):
                dead = children.first_exited()
                if dead is not None:
                    raise ServiceProcessError(
                        f"{children.describe(dead)} exited with code {dead.returncode}; "
                        "see its log above"
                    )
            return
        from timemachine.api import create_app

        if dev:
            uvicorn.run(
                "timemachine.api.app:create_app",
                factory=True,
                host=host,
                port=port,
                reload=True,
                log_level="debug",
                proxy_headers=False,  # the app reads X-Forwarded-For (FORWARDED_ALLOW_IPS)
            )
            return
        config = uvicorn.Config(
            create_app(settings),
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            log_config=None,
            # uvicorn's default trusts X-Forwarded-For from 127.0.0.1 and rewrites the peer; the
            # app does it itself, from FORWARDED_ALLOW_IPS only (`security.proxies`).
            proxy_headers=False,
        )
        server = uvicorn.Server(config)
        stop.server = server
        watcher = threading.Thread(
            target=_watch_children, args=(children, stop), daemon=True, name="children"
        )
        watcher.start()
        log.info("api listening", host=host, port=port)
        server.run(sockets=[sock] if sock is not None else None)
    finally:
        if sock is not None:
            sock.close()
        children.stop()
        log.info("stopped")
    dead = children.first_exited() if not stop.event.is_set() else None
    if dead is not None and not api_only:
        raise ServiceProcessError(
            f"{children.describe(dead)} exited with code {dead.returncode}; see its log above"
        )


def _watch_children(children: Children, stop: _StopFlag) -> None:
    while not stop.event.wait(0.5):
        if children.first_exited() is not None:
            if stop.server is not None:
                stop.server.should_exit = True
            return


def run_worker(settings: Settings, *, concurrency: int, queues: Sequence[str], beat: bool) -> None:
    """Run one Celery worker in this process (the `celery worker` command, configured)."""
    from timemachine.tasks.app import celery_app

    unknown = sorted(set(queues) - set(DEFAULT_QUEUES))
    if unknown:
        from timemachine.errors import InvalidInputError

        raise InvalidInputError(
            f"unknown queue(s) {', '.join(unknown)}; valid: {', '.join(DEFAULT_QUEUES)}"
        )
    command = worker_command(settings, concurrency=concurrency, queues=queues, beat=beat)
    argv = command[command.index("worker") :]  # what `celery -A app` would get
    celery_app.worker_main(argv=argv)
