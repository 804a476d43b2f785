"""Per-worker-process resources, created lazily in the process that uses them (after the fork of
a prefork pool) and released when the process shuts down (forks and devnet stopped)."""

from __future__ import annotations

from functools import cache

from celery.signals import worker_process_shutdown, worker_shutdown

from timemachine.orchestration.runtime import EngineRuntime
from timemachine.ports import EventBus
from timemachine.runtime import Runtime, build
from timemachine.store import Database


@cache
def root() -> Runtime:
    """This worker process's parts, wired once from the process settings."""
    return build()


@cache
def runtime() -> EngineRuntime:
    return EngineRuntime(root())


@cache
def database() -> Database:
    return root().database()


@cache
def bus() -> EventBus:
    return root().bus()


@worker_process_shutdown.connect
@worker_shutdown.connect
def _release(**_: object) -> None:
    if runtime.cache_info().currsize:
        runtime().close()
