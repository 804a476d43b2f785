"""`timemachine daemon start|stop|status`, and how `replay` finds and uses the daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from timemachine.cli.errors import (
    INTERNAL_ERROR,
    checked_settings,
    fail,
    reported_errors,
    run_async,
)
from timemachine.cli.group import command_group
from timemachine.orchestration.daemon_link import (
    DaemonLink,
    DaemonUnreachable,
    ReplayRequest,
    default_data_dir,
)

LOG_FILE = "daemon.log"
STARTUP_TIMEOUT = 60.0
IDLE_TIMEOUT = 1800.0

daemon_app = command_group(
    "A warm replay engine in the background that `replay` uses when it runs."
)
IdleTimeout = Annotated[
    float,
    typer.Option("--idle-timeout", min=1, help="Stop after this many seconds without a request."),
]


@daemon_app.command()
def start(
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Run in this process until stopped.")
    ] = False,
    idle_timeout: IdleTimeout = IDLE_TIMEOUT,
) -> None:
    """Start the daemon in the background (nothing to do if one is running).

    It keeps anvil forks, caches and imports warm for `timemachine replay`, which uses it
    whenever it runs (`replay --daemon` starts it first). It listens on a loopback port named,
    with a token, in daemon.json (mode 0600) in the data directory, and logs to daemon.log."""
    if foreground:
        run_foreground(idle_timeout)
        return
    with reported_errors():
        link = ensure_daemon(settings_data_dir(), idle_timeout)
    typer.echo(f"daemon running (pid {link.pid}, 127.0.0.1:{link.port})")


@daemon_app.command()
def stop() -> None:
    """Stop the daemon; its anvil forks stop with it."""
    with reported_errors():
        link = running_link(settings_data_dir())
        if link is None:
            typer.echo("no daemon running")
            return
        link.ask("stop")
        wait_for_exit(link.pid, STARTUP_TIMEOUT)
    typer.echo(f"daemon stopped (pid {link.pid})")


@daemon_app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Whether the daemon runs (exit 1 if not), and what it keeps warm."""
    with reported_errors():
        link = running_link(settings_data_dir())
        if link is None:
            fail("no daemon running (start one with: timemachine daemon start)", 1)
        facts = json.loads(link.ask("status").body)
    if as_json:
        typer.echo(json.dumps({**facts, "port": link.port}, indent=2))
        return
    typer.echo(
        f"daemon running: pid {facts['pid']}, 127.0.0.1:{link.port}, up "
        f"{facts['uptime_seconds']} s, {facts['replays']} replays ({facts['failed']} failed), "
        f"{facts['upstreams']} upstreams, {facts['live_forks']} live forks"
    )


def replay_through_daemon(request: ReplayRequest, use: bool | None) -> bytes | None:
    """The replay's JSON (as `replay --json` prints it) from the daemon, or None to replay in
    this process: with `use` None a running daemon is used, True starts one if none runs,
    False never uses one. The daemon's own errors end the command as they would in-process."""
    if use is False:
        return None
    data_dir = settings_data_dir() if use else default_data_dir(os.environ)
    link = DaemonLink.read(data_dir)
    try:
        if link is None:
            raise DaemonUnreachable("no daemon")
        answer = link.ask_replay(request)
    except DaemonUnreachable:
        if not use:
            return None
        answer = ensure_daemon(data_dir, IDLE_TIMEOUT).ask_replay(request)
    if not answer.ok:
        fail(answer.error, INTERNAL_ERROR if answer.internal else answer.exit_code)
    return answer.body


def settings_data_dir() -> Path:
    return Path(checked_settings().data_dir or ".")


def running_link(data_dir: Path) -> DaemonLink | None:
    """The link of the daemon that answers in `data_dir`, or None."""
    link = DaemonLink.read(data_dir)
    if link is None:
        return None
    try:
        return link if link.ask("status").ok else None
    except DaemonUnreachable:
        return None


def ensure_daemon(data_dir: Path, idle_timeout: float) -> DaemonLink:
    """The running daemon of `data_dir`, started in the background first if there is none."""
    from timemachine.errors import EngineError
    from timemachine.orchestration.daemon import DAEMON_LOCK
    from timemachine.processes import AlreadyRunningError, InstanceLock

    link = running_link(data_dir)
    if link is not None:
        return link
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "timemachine.cli.main", "daemon", "start", "--foreground"]
    with (data_dir / LOG_FILE).open("ab") as log:
        child = subprocess.Popen(
            [*command, "--idle-timeout", str(idle_timeout)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "TIME_MACHINE_DATA_DIR": str(data_dir)},
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        link = running_link(data_dir)
        if link is not None:
            return link
        if child.poll() is not None:  # lost a race to another starter, or failed
            try:
                InstanceLock(data_dir / DAEMON_LOCK, "replay daemon").check_free()
            except AlreadyRunningError:
                pass  # the other daemon is starting: wait for its link
            else:
                break
        time.sleep(0.05)
    tail = (data_dir / LOG_FILE).read_text(errors="replace").strip().splitlines()[-3:]
    raise EngineError(f"the replay daemon did not start: {' | '.join(tail) or 'no output'}")


def run_foreground(idle_timeout: float) -> None:
    from timemachine.orchestration.daemon import ReplayDaemon

    run_async(ReplayDaemon(checked_settings(), idle_timeout=idle_timeout).run())


def wait_for_exit(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
