"""Live updates over WebSocket.

`/ws/sessions/{id}`: the session's current state from the store first, then every change until it
reaches a terminal status, then the socket closes (code 1000). Changes come from the bus *and* a
store poll every `POLL_SECONDS`: with the in-process bus (no REDIS_URL) the worker publishes in
another process, so the poll is what carries its progress; with Redis it covers lost events (and
runs every `BUS_POLL_SECONDS`). Per API process, the poll is one query per tick for every
followed session (`api.watch.SessionWatcher`) and the bus one subscription for all of them
(`api.watch.Fanout`), not one per socket.
Duplicates are dropped (an event is sent only when status, progress or stage changed).

`/ws/status`: system events (sessions queued, finished, cancelled) from the bus. With the
in-process bus only events published by this API process arrive (queued, cancelled). Non-admins
receive only the events of their own sessions.

Both authenticate (see `timemachine.api.auth`: `Authorization` header, or the subprotocols
`timemachine` + `bearer.<token>`); no or bad credentials: an error message, then close 4401.
Another user's session is answered like an unknown one (4404). Over the per-user or per-IP cap
of open sockets: close 4429; once the credential is revoked or the user disabled: close 1008
(see `timemachine.api.ws_limits`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from timemachine.api.deps import app_state, per_app
from timemachine.api.validation import STORAGE_UNAVAILABLE
from timemachine.api.watch import (
    BUS_POLL_SECONDS,
    DELETED,
    EVERYONE,
    POLL_SECONDS,
    Fanout,
    SessionLoader,
    SessionWatcher,
    session_fanout,
)
from timemachine.api.ws_limits import IDLE_CHECK_SECONDS, LiveSocket, live_socket
from timemachine.bus import STATUS_CHANNEL, Event, EventBus, LocalBus
from timemachine.errors import StorageError
from timemachine.models.auth import Role, Scope
from timemachine.models.sessions import SessionStatus
from timemachine.orchestration.progress import session_event
from timemachine.store import Database

router = APIRouter(tags=["live"])
NOT_FOUND_CLOSE = 4404
_TERMINAL = {status.value for status in SessionStatus if status.is_terminal}
_DISCONNECTED = object()


async def _pump(bus: EventBus, channel: str, queue: asyncio.Queue[Any]) -> None:
    """A socket's own subscription (`/ws/mev`; session and status sockets share one per
    process, see `Fanout`)."""
    async for event in bus.subscribe(channel):
        await queue.put(event)


async def _watch_disconnect(websocket: WebSocket, queue: asyncio.Queue[Any]) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()  # clients need not send; we only notice the close
    await queue.put(_DISCONNECTED)


async def _stop(helpers: list[asyncio.Task[None]]) -> None:
    """Cancel the helper tasks and wait for them, even while this handler is being cancelled
    (the server cancels a handler whose client went away)."""
    for helper in helpers:
        helper.cancel()
    with anyio.CancelScope(shield=True):
        await asyncio.gather(*helpers, return_exceptions=True)


def _key(event: Event) -> tuple[Any, ...]:
    return (event.get("status"), event.get("progress"), event.get("stage"))


@router.websocket("/ws/sessions/{session_id}")
async def session_updates(websocket: WebSocket, session_id: str) -> None:
    async with live_socket(websocket, Role.VIEWER, Scope.SESSIONS_READ) as live:
        if live is not None:
            await _session_updates(live, session_id)


async def _session_updates(live: LiveSocket, session_id: str) -> None:
    websocket, principal = live.websocket, live.principal
    state = app_state(websocket)
    try:
        record = await _loader(websocket, state.db).get(session_id, principal.owner_scope)
    except StorageError:
        await websocket.send_json(
            {"type": "error", "error": "StorageError", "detail": STORAGE_UNAVAILABLE}
        )
        await websocket.close(code=1011)
        return
    if record is None:
        detail = f"no session {session_id!r}"
        await websocket.send_json({"type": "error", "error": "NotFoundError", "detail": detail})
        await websocket.close(code=NOT_FOUND_CLOSE)
        return
    queue: asyncio.Queue[Any] = asyncio.Queue()
    helpers = [asyncio.create_task(_watch_disconnect(websocket, queue))]
    watcher, events = _watcher(websocket, state.db, state.bus), _fanouts(websocket, state.bus)[0]
    watcher.follow(session_id, queue)
    events.follow(session_id, queue)
    try:
        await _follow(live, session_event(record), queue)
    except WebSocketDisconnect:
        return
    finally:
        watcher.unfollow(session_id, queue)
        events.unfollow(session_id, queue)
        await _stop(helpers)


def _watcher(websocket: WebSocket, db: Database, bus: EventBus) -> SessionWatcher:
    """The API process's one store poller for every followed session (slower when Redis
    carries the workers' events)."""
    interval = POLL_SECONDS if isinstance(bus, LocalBus) else BUS_POLL_SECONDS
    return per_app(websocket, "session_watcher", lambda: SessionWatcher(db, interval))


def _loader(websocket: WebSocket, db: Database) -> SessionLoader:
    """The API process's batched reader of the sessions sockets open on."""
    return per_app(websocket, "session_loader", lambda: SessionLoader(db))


def _fanouts(websocket: WebSocket, bus: EventBus) -> tuple[Fanout, Fanout]:
    """The API process's one subscription to every session's events and one to the status
    channel."""
    return per_app(
        websocket, "bus_fanouts", lambda: (session_fanout(bus), Fanout(bus, STATUS_CHANNEL))
    )


async def _follow(live: LiveSocket, first: Event, queue: asyncio.Queue[Any]) -> None:
    """Send the first state, then what the bus and the store watcher put on `queue`; an idle
    socket re-checks its credential every `IDLE_CHECK_SECONDS`."""
    websocket = live.websocket
    if not await live.send(first):
        return
    last = _key(first)
    newest = str(first.get("updated_at", ""))
    status = first["status"]
    while status not in _TERMINAL:
        item = await _next_item(live, queue)
        if item is DELETED:
            await websocket.send_json(
                {"type": "error", "error": "NotFoundError", "detail": "session deleted"}
            )
            await websocket.close(code=NOT_FOUND_CLOSE)
            return
        if item is _DISCONNECTED:
            return
        if _key(item) == last or str(item.get("updated_at", "")) < newest:
            continue  # a duplicate, or an event older than what the client has
        if not await live.send(item):
            return
        last = _key(item)
        newest = str(item.get("updated_at", newest))
        status = item.get("status", status)
    await websocket.close(code=1000)


async def _next_item(live: LiveSocket, queue: asyncio.Queue[Any]) -> Any:
    """The next item on `queue`, or `_DISCONNECTED` once the socket's credential no longer holds
    (re-checked after every `IDLE_CHECK_SECONDS` of silence)."""
    while True:
        try:
            async with asyncio.timeout(IDLE_CHECK_SECONDS):  # no task per wait, as wait_for makes
                return await queue.get()
        except TimeoutError:
            if not await live.still_allowed():
                return _DISCONNECTED


async def stream_events(
    live: LiveSocket,
    channels: Sequence[str],
    hello: Event,
    keep: Callable[[Any], bool] = lambda _: True,
) -> None:
    """Send `hello`, then every event of `channels` that `keep` accepts, until the client leaves
    or its credential no longer holds (the socket counts against the per-user and per-IP caps)."""
    websocket = live.websocket
    bus = app_state(websocket).bus
    queue: asyncio.Queue[Any] = asyncio.Queue()
    helpers = [asyncio.create_task(_pump(bus, channel, queue)) for channel in channels]
    helpers.append(asyncio.create_task(_watch_disconnect(websocket, queue)))
    try:
        if not await live.send(hello):
            return
        while True:
            item = await _next_item(live, queue)
            if item is _DISCONNECTED:
                return
            if keep(item) and not await live.send(item):
                return
    except WebSocketDisconnect:
        return
    finally:
        await _stop(helpers)


@router.websocket("/ws/status")
async def status_updates(websocket: WebSocket) -> None:
    async with live_socket(websocket, Role.VIEWER, Scope.SESSIONS_READ) as live:
        if live is not None:
            await _status_updates(live)


async def _status_updates(live: LiveSocket) -> None:
    websocket = live.websocket
    state = app_state(websocket)
    owner = live.principal.owner_scope
    mine: dict[str, bool] = {}
    queue: asyncio.Queue[Any] = asyncio.Queue()
    helpers = [asyncio.create_task(_watch_disconnect(websocket, queue))]
    events = _fanouts(websocket, state.bus)[1]
    events.follow(EVERYONE, queue)
    try:
        if not await live.send({"type": "hello", "channel": STATUS_CHANNEL}):
            return
        while True:
            item = await _next_item(live, queue)
            if item is _DISCONNECTED:
                return
            if owner is not None:
                session_id = str(item.get("session_id", ""))
                if session_id not in mine:
                    found = await _loader(websocket, state.db).get(session_id, owner)
                    mine[session_id] = found is not None
                if not mine[session_id]:
                    continue
            if not await live.send(item):
                return
    except WebSocketDisconnect:
        return
    finally:
        events.unfollow(EVERYONE, queue)
        await _stop(helpers)
