"""Operations: health and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from timemachine.api.auth import MetricsReader, bearer
from timemachine.api.deps import AppSettings, Db, Queue
from timemachine.api.health import HealthReport, system_health
from timemachine.errors import TimeMachineError
from timemachine.security.accounts import principal_for
from timemachine.settings import Settings
from timemachine.store import Database

router = APIRouter(tags=["system"])


@router.get(
    "/api/system/health",
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "A component is degraded."}},
)
def health(
    settings: AppSettings,
    db: Db,
    queue: Queue,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> JSONResponse:
    """Database, broker, Redis (when configured), anvil, disk, live forks: 200 when all are
    ok, 503 when any is degraded. Open to all, and then the status only: which component is
    degraded and why (paths, hosts, process counts) is shown to admins alone."""
    report = system_health(settings, db, queue)
    code = 200 if report.status == "healthy" else 503
    if not _is_admin(settings, db, credentials):
        report = HealthReport(status=report.status)
    return JSONResponse(report.model_dump(mode="json", exclude_none=True), status_code=code)


def _is_admin(
    settings: Settings, db: Database, credentials: HTTPAuthorizationCredentials | None
) -> bool:
    """Whether the caller presented an admin's token (a bad or no token: anonymous, no error:
    health answers load balancers that send none)."""
    if credentials is None:
        return False
    try:
        return principal_for(settings, db, credentials.credentials).is_admin
    except TimeMachineError:  # invalid, expired, disabled — or the database is down
        return False


@router.get("/metrics", include_in_schema=False, dependencies=[MetricsReader])
def metrics(request: Request) -> Response:
    """Prometheus text exposition. Needs the scrape token (`TIME_MACHINE_METRICS_TOKEN`) or an
    admin with the `metrics:read` scope: the figures (sessions by status, queue lengths, route
    timings) describe the deployment and its load, which anonymous callers need not know."""
    registry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
