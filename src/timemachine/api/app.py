"""The FastAPI application factory.

Lifespan: open the database (migrated to the newest schema), upsert the exploit catalog (bundled
scenarios + the DeFiHackLabs incidents), create the job queue and the event bus; on shutdown
close the bus and the database. Errors: every `TimeMachineError` becomes
`{"error": <class>, "detail": <message>}` with its `http_status`; request validation stays 422.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from timemachine.api.console import mount_console
from timemachine.api.docs import docs_router
from timemachine.api.limits import BodyLimitMiddleware
from timemachine.api.metrics import HttpMetricsMiddleware, create_registry
from timemachine.api.routers import (
    admin,
    alerts,
    archive,
    archive_sql,
    auth,
    cleanup,
    credentials,
    exploits,
    mev,
    monitor,
    operations,
    replay,
    rules,
    sessions,
    system,
    tasks,
    tx_imports,
    whatif,
    ws,
)
from timemachine.api.security_headers import SecurityHeadersMiddleware
from timemachine.api.state import AppState
from timemachine.api.validation import register_error_handlers
from timemachine.errors import TimeMachineError
from timemachine.logs import get_logger
from timemachine.runtime import build
from timemachine.security.accounts import BOOTSTRAP_ADMIN, bootstrap_admin
from timemachine.security.ratelimit import rate_limiter
from timemachine.security.tokens import signing_key
from timemachine.settings import Settings
from timemachine.store import Database, upsert_catalog
from timemachine.tasks.app import job_queue
from timemachine.untrusted import cap_recursion_limit

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
    root = build(settings)
    settings = root.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        recursion_limit = cap_recursion_limit()  # see timemachine.untrusted
        db = root.database()
        bus = root.bus()
        try:
            _load_catalog(db)
            queue = job_queue(settings)
            signing_key(settings)  # fail fast on a bad key; create the embedded one now
            if settings.bootstrap_admin:
                _announce_admin(settings, bootstrap_admin(db))
            app.state.timemachine = AppState(
                settings=settings,
                db=db,
                queue=queue,
                bus=bus,
                limiter=rate_limiter(settings.redis_url),
            )
            log.info("api started", database=db.dialect)
            yield
        finally:
            await bus.aclose()
            db.dispose()
            sys.setrecursionlimit(recursion_limit)
            log.info("api stopped")

    app = FastAPI(
        title="Time Machine",
        summary="Replay historical EVM transactions and exploits on forked state; explain them.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local assets by docs_router (no CDN)
        redoc_url=None,
    )

    def database() -> Database | None:
        state: AppState | None = getattr(app.state, "timemachine", None)
        return state.db if state is not None else None

    registry, histogram = create_registry(database, settings)
    app.state.metrics_registry = registry

    @app.exception_handler(TimeMachineError)
    async def _time_machine_error(_: Request, exc: TimeMachineError) -> JSONResponse:
        return JSONResponse(
            {"error": type(exc).__name__, "detail": exc.message},
            status_code=exc.http_status,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Framework errors (an unparsable body, an unknown path) in the same error shape."""
        return JSONResponse(
            {"error": HTTPStatus(exc.status_code).phrase.replace(" ", ""), "detail": exc.detail},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    register_error_handlers(app)
    for module in (
        auth,
        admin,
        replay,
        whatif,
        tx_imports,
        mev,
        monitor,
        alerts,
        rules,
        exploits,
        sessions,
        credentials,
        tasks,
        cleanup,
        system,
        ws,
        archive,
        archive_sql,
        operations,
    ):
        app.include_router(module.router)
    app.include_router(docs_router(app))
    mount_console(app)
    app.add_middleware(HttpMetricsMiddleware, histogram=histogram)
    app.add_middleware(BodyLimitMiddleware)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,  # bearer tokens, no cookies
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: on every answer, rejections too
    return app


def _announce_admin(settings: Settings, password: str | None) -> None:
    """Say once (on stderr, never in the logs) how to log in as the bootstrap admin."""
    if password is None:
        return
    url = f"http://{settings.time_machine_host}:{settings.time_machine_port}/api/auth/login"
    body = f'{{"username": "{BOOTSTRAP_ADMIN}", "password": "{password}"}}'
    sys.stderr.write(
        "\n"
        f"Time Machine: created the first user, {BOOTSTRAP_ADMIN!r} (role admin).\n"
        f"  password: {password}\n"
        f"  log in:   curl -s -X POST {url} -H 'content-type: application/json' -d '{body}'\n"
        "  This password is shown only now. Change it with "
        f"`timemachine users set-password {BOOTSTRAP_ADMIN}`;\n"
        "  add users with `timemachine users create NAME --role analyst`.\n\n"
    )
    sys.stderr.flush()
