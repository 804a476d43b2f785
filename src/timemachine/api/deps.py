"""FastAPI dependencies: the instance's resources (opened by the lifespan in `app.py`).

`async def` although they never wait: FastAPI runs a plain `def` dependency in a worker thread,
and a thread hand-off per dependency per request is what latency under load is made of."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request
from starlette.requests import HTTPConnection

from timemachine.api.state import AppState
from timemachine.ports import EventBus, JobQueue
from timemachine.settings import Settings
from timemachine.store import Database
from timemachine.store.rows import MAX_OFFSET, MAX_PAGE

ANONYMOUS = "anonymous"
"""The owner of sessions started without a `user_id` (until authentication exists)."""


def app_state(connection: HTTPConnection) -> AppState:
    state: AppState = connection.app.state.timemachine
    return state


T = TypeVar("T")


def per_app(connection: HTTPConnection, name: str, make: Callable[[], T]) -> T:
    """The app's one `name` object, made by `make()` on first use (what an API process shares
    among its requests and sockets: caches, counters, pollers)."""
    app_obj: Any = connection.app.state
    shared: T | None = getattr(app_obj, name, None)
    if shared is None:
        shared = make()
        setattr(app_obj, name, shared)
    return shared


async def get_db(request: Request) -> Database:
    return app_state(request).db


async def get_queue(request: Request) -> JobQueue:
    return app_state(request).queue


async def get_bus(request: Request) -> EventBus:
    return app_state(request).bus


async def get_app_settings(request: Request) -> Settings:
    return app_state(request).settings


def owner_of(user_id: str | None) -> str:
    """The session owner for a request: its `user_id`, else anonymous (no auth yet)."""
    return (user_id or "").strip() or ANONYMOUS


Db = Annotated[Database, Depends(get_db)]
Queue = Annotated[JobQueue, Depends(get_queue)]
Bus = Annotated[EventBus, Depends(get_bus)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
"""Rows of a listing page at most."""
