"""Process lifetime: children that die with their parent, and one instance per data directory.

`die_with_parent` asks Linux to send a signal to this process when its parent dies
(PR_SET_PDEATHSIG); used in `preexec_fn` of every child the service starts (worker, beat, anvil)
and at the start of every Celery pool process, so `kill -9` of `serve` takes its whole tree
with it. `ParentWatchdog` is the same guarantee without the kernel's help (other platforms, and
the window between fork and prctl): a thread that kills the process group once the parent pid
changes. `InstanceLock` is an exclusive `flock` on a file in the data directory: a second worker
(or beat) for the same data directory refuses to start instead of running twice.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO

from timemachine.errors import ConflictError

PR_SET_PDEATHSIG = 1
WORKER_LOCK = "worker.lock"
BEAT_LOCK = "beat.lock"
"""Lock files in the data directory: one Celery worker and one beat per data directory."""
SUPERVISOR_PID_ENV = "TIME_MACHINE_SUPERVISOR_PID"
"""Set by `serve` in its children's environment: the pid their watchdog compares with."""


class AlreadyRunningError(ConflictError):
    """Another process holds this data directory's lock (a second worker or beat)."""


def die_with_parent(signum: int = signal.SIGKILL, *, parent: int | None = None) -> None:
    """Have the kernel send `signum` to this process when its parent dies (Linux only).

    `parent`: the pid the parent had before the fork; if it already died (the child was
    re-parented before prctl ran), the signal is sent at once. Safe between fork and exec."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signum)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), signum)


class ParentWatchdog:
    """Kill this process group with SIGKILL once the parent `expected` is gone (polls)."""

    def __init__(self, expected: int, *, interval: float = 1.0) -> None:
        self.expected = expected
        self.interval = interval
        self._thread = threading.Thread(target=self._run, daemon=True, name="parent-watchdog")

    @classmethod
    def from_env(cls) -> ParentWatchdog | None:
        """A started watchdog when `serve` named itself our supervisor (and is our parent)."""
        value = os.environ.get(SUPERVISOR_PID_ENV, "")
        if not value.isdigit() or int(value) != os.getppid():
            return None  # not started by serve, or a grandchild (pool process: has prctl)
        watchdog = cls(int(value))
        watchdog.start()
        return watchdog

    def start(self) -> None:
        self._thread.start()

    def orphaned(self) -> bool:
        return os.getppid() != self.expected

    def _run(self) -> None:
        while not self.orphaned():
            time.sleep(self.interval)
        os.killpg(os.getpgrp(), signal.SIGKILL)


class InstanceLock:
    """An exclusive, non-blocking `flock` on `path` holding the owner's pid.

    The kernel drops the lock when the last descriptor of it closes, i.e. when the holder dies
    however it dies: no stale lock files. Forked children should `release_inherited()` so that
    only the holder keeps the lock."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunningError naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise AlreadyRunningError(
                f"another {self.what} (pid {holder}) already runs for the data directory "
                f"{self.path.parent}; stop it first or use another TIME_MACHINE_DATA_DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def check_free(self) -> None:
        """AlreadyRunningError when someone holds the lock now (the lock is not kept)."""
        self.acquire()
        self.release()

    def release_inherited(self) -> None:
        """In a forked child: close our copy of the descriptor (the parent keeps the lock)."""
        if self._file is not None:
            self._file.close()  # no LOCK_UN: that would release the parent's lock too
            self._file = None

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
