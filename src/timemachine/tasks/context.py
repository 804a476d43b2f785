"""Per-worker-process resources, created lazily in the process that uses them (after the fork of
a prefork pool) and released when the process shuts down (forks and devnet stopped)."""

from __future__ import annotations

from functools import cache

from celery.signals import worker_process_shutdown, worker_shutdown

from timemachine.bus import EventBus, event_bus
from timemachine.service.runtime import EngineRuntime
from timemachine.settings import get_settings
from timemachine.store import Database, open_database


@cache
def runtime() -> EngineRuntime:
    return EngineRuntime(get_settings())


@cache
def database() -> Database:
    return open_database(get_settings().database_url)


@cache
def bus() -> EventBus:
    return event_bus(get_settings().redis_url)


@worker_process_shutdown.connect
@worker_shutdown.connect
def _release(**_: object) -> None:
    if runtime.cache_info().currsize:
        runtime().close()
