"""Typer commands `serve` and `worker` (registered in `cli/main.py`)."""

from __future__ import annotations

from typing import Annotated

import typer

from timemachine.cli.errors import reported_errors


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Listen address (default TIME_MACHINE_HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port (default TIME_MACHINE_PORT)."),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Celery worker pool processes.")
    ] = 2,
    dev: Annotated[
        bool, typer.Option("--dev", help="Reload the API on code changes; console logs.")
    ] = False,
    api_only: Annotated[
        bool, typer.Option("--api-only", help="Run the API only (workers run elsewhere).")
    ] = False,
    workers_only: Annotated[
        bool, typer.Option("--workers-only", help="Run the worker and beat only, no API.")
    ] = False,
) -> None:
    """Run the service: REST/WebSocket API, Celery worker and beat; Ctrl-C stops everything."""
    from timemachine.cli.serve import serve as run_serve
    from timemachine.errors import InvalidInputError
    from timemachine.settings import get_settings

    with reported_errors():
        if api_only and workers_only:
            raise InvalidInputError("--api-only and --workers-only exclude each other")
        settings = get_settings()
        run_serve(
            settings,
            host=host or settings.time_machine_host,
            port=port or settings.time_machine_port,
            workers=workers,
            dev=dev,
            api_only=api_only,
            workers_only=workers_only,
        )


def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Pool processes.")
    ] = 2,
    queues: Annotated[
        str,
        typer.Option("--queues", "-Q", help="Comma-separated queues to consume."),
    ] = "replay,analysis,cleanup,alerts",
    beat: Annotated[
        bool, typer.Option("--beat", "-B", help="Also run the beat scheduler.")
    ] = False,
) -> None:
    """Run a Celery worker for the replay, analysis, cleanup and alerts queues."""
    from timemachine.cli.serve import run_worker
    from timemachine.settings import get_settings

    with reported_errors():
        names = [name.strip() for name in queues.split(",") if name.strip()]
        run_worker(get_settings(), concurrency=concurrency, queues=names, beat=beat)
