"""Operations: health and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from timemachine.api.auth import MetricsReader
from timemachine.api.deps import AppSettings, Db, Queue
from timemachine.api.health import HealthReport, system_health

router = APIRouter(tags=["system"])


@router.get(
    "/api/system/health",
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "A component is degraded."}},
)
def health(settings: AppSettings, db: Db, queue: Queue) -> JSONResponse:
    """Database, broker, Redis (when configured), anvil, disk, live forks: 200 when all are
    ok, 503 when any is degraded (the body says which and why)."""
    report = system_health(settings, db, queue)
    code = 200 if report.status == "healthy" else 503
    return JSONResponse(report.model_dump(mode="json"), status_code=code)


@router.get("/metrics", include_in_schema=False, dependencies=[MetricsReader])
def metrics(request: Request) -> Response:
    """Prometheus text exposition. Needs the scrape token (`TIME_MACHINE_METRICS_TOKEN`) or an
    admin with the `metrics:read` scope: the figures (sessions by status, queue lengths, route
    timings) describe the deployment and its load, which anonymous callers need not know."""
    registry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
