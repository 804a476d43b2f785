"""The FastAPI application factory.

Lifespan: open the database (migrated to the newest schema), upsert the exploit catalog (bundled
scenarios + the DeFiHackLabs incidents), create the Celery app and the event bus; on shutdown
close the bus and the database. Errors: every `TimeMachineError` becomes
`{"error": <class>, "detail": <message>}` with its `http_status`; request validation stays 422.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from timemachine.api.limits import BodyLimitMiddleware
from timemachine.api.metrics import HttpMetricsMiddleware, create_registry
from timemachine.api.routers import cleanup, exploits, replay, sessions, system, tasks, ws
from timemachine.api.state import AppState
from timemachine.bus import event_bus
from timemachine.errors import TimeMachineError
from timemachine.logs import get_logger
from timemachine.settings import Settings, get_settings
from timemachine.store import Database, open_database, upsert_catalog

log = get_logger(__name__)


def _load_catalog(db: Database) -> None:
    from timemachine.catalog.incidents import load_catalog

    catalog = load_catalog()
    for warning in catalog.warnings:
        log.warning("catalog", warning=warning)
    with db.session() as s:
        counts = upsert_catalog(s, catalog.records)
    log.info("catalog loaded", inserted=counts.inserted, updated=counts.updated)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API application for `settings` (default: the process settings)."""
    from timemachine.tasks.app import create_celery

    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = open_database(settings.database_url)
        bus = event_bus(settings.redis_url)
        try:
            _load_catalog(db)
            celery = create_celery(settings)
            app.state.timemachine = AppState(settings=settings, db=db, celery=celery, bus=bus)
            log.info("api started", database=db.dialect)
            yield
        finally:
            await bus.aclose()
            db.dispose()
            log.info("api stopped")

    app = FastAPI(
        title="Time Machine",
        summary="Replay historical EVM transactions and exploits on forked state; explain them.",
        version="0.1.0",
        lifespan=lifespan,
    )

    def database() -> Database | None:
        state: AppState | None = getattr(app.state, "timemachine", None)
        return state.db if state is not None else None

    registry, histogram = create_registry(database, settings)
    app.state.metrics_registry = registry

    @app.exception_handler(TimeMachineError)
    async def _time_machine_error(_: Request, exc: TimeMachineError) -> JSONResponse:
        return JSONResponse(
            {"error": type(exc).__name__, "detail": exc.message}, status_code=exc.http_status
        )

    for module in (replay, exploits, sessions, tasks, cleanup, system, ws):
        app.include_router(module.router)
    app.add_middleware(HttpMetricsMiddleware, histogram=histogram)
    app.add_middleware(BodyLimitMiddleware)
    return app
