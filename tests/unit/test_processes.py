"""Process lifetime helpers, with real processes: death signal, parent watchdog, instance lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from timemachine.processes import SUPERVISOR_PID_ENV, AlreadyRunningError, InstanceLock

PARENT = textwrap.dedent(
    """
    import functools, os, signal, subprocess, sys, time
    from timemachine.processes import SUPERVISOR_PID_ENV, die_with_parent
    mode = sys.argv[1]
    child = "import time; time.sleep(60)"
    if mode == "watchdog":
        child = (
            "import time; from timemachine.processes import ParentWatchdog; "
            "ParentWatchdog.from_env(); time.sleep(60)"
        )
    env = os.environ | {SUPERVISOR_PID_ENV: str(os.getpid())}
    preexec = None
    if mode == "deathsig":
        preexec = functools.partial(die_with_parent, signal.SIGKILL, parent=os.getpid())
    process = subprocess.Popen(
        [sys.executable, "-c", child], env=env, preexec_fn=preexec, start_new_session=True
    )
    print(process.pid, flush=True)
    time.sleep(60)
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_dead(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("mode", ["deathsig", "watchdog"])
def test_a_child_dies_when_its_parent_is_killed(mode: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, mode], stdout=subprocess.PIPE, env=dict(os.environ)
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        time.sleep(0.5)  # the watchdog's first look (it polls every second)
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _wait_dead(child, 5), f"the child survived its parent ({mode})"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_without_either_the_child_outlives_its_parent() -> None:
    """The control: what the two guarantees above prevent."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, "none"], stdout=subprocess.PIPE, env=dict(os.environ)
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert not _wait_dead(child, 2)
    finally:
        os.kill(child, signal.SIGKILL)


def test_the_watchdog_only_runs_under_its_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    from timemachine.processes import ParentWatchdog

    monkeypatch.delenv(SUPERVISOR_PID_ENV, raising=False)
    assert ParentWatchdog.from_env() is None
    monkeypatch.setenv(SUPERVISOR_PID_ENV, str(os.getppid() + 1))  # not our parent
    assert ParentWatchdog.from_env() is None


def test_the_instance_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "data" / "worker.lock"
    first = InstanceLock(path, "worker")
    first.acquire()
    with pytest.raises(AlreadyRunningError) as refused:
        InstanceLock(path, "worker").acquire()
    assert str(refused.value) == (
        f"another worker (pid {os.getpid()}) already runs for the data directory "
        f"{tmp_path / 'data'}; stop it first or use another TIME_MACHINE_DATA_DIR"
    )
    assert refused.value.exit_code == 7
    with pytest.raises(AlreadyRunningError):
        InstanceLock(path, "worker").check_free()
    first.release()
    InstanceLock(path, "worker").check_free()


def test_a_forked_child_releasing_its_copy_keeps_the_parents_lock(tmp_path: Path) -> None:
    path = tmp_path / "worker.lock"
    lock = InstanceLock(path, "worker")
    lock.acquire()
    pid = os.fork()
    if pid == 0:  # the child: drop its inherited copy, then exit
        lock.release_inherited()
        os._exit(0)
    os.waitpid(pid, 0)
    with pytest.raises(AlreadyRunningError):
        InstanceLock(path, "worker").acquire()
    lock.release()


def test_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "worker.lock"
    code = (
        "import sys, time; from pathlib import Path; "
        "from timemachine.processes import InstanceLock; "
        f"lock = InstanceLock(Path({str(path)!r}), 'worker'); lock.acquire(); "
        "print('held', flush=True); "
        "time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == b"held"
    with pytest.raises(AlreadyRunningError):
        InstanceLock(path, "worker").acquire()
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    InstanceLock(path, "worker").check_free()  # no stale lock after a SIGKILL
