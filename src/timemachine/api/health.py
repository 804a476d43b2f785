"""System health: one check per component, each with a status and a one-line detail.

Overall `healthy` (HTTP 200) when every check is ok or skipped; `degraded` (503) otherwise.
The components (their details name paths, hosts and process counts) are for admins only; the
route answers anyone else with the overall status alone.
Every check is bounded by a short timeout: a dead dependency makes the answer slow by at most a
few seconds, never hangs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Literal

import redis
from pydantic import BaseModel, Field
from sqlalchemy import text

from timemachine.errors import BrokerUnreachableError, EngineNotFoundError, StorageError
from timemachine.forks.locate import locate_binary
from timemachine.ports import JobQueue
from timemachine.settings import Settings
from timemachine.store import Database
from timemachine.urls import redact_url

CHECK_TIMEOUT = 2
MIN_FREE_BYTES = 512 * 1024 * 1024
"""Less free space than this in the data directory is degraded (SQLite, broker, scratch)."""

Status = Literal["ok", "degraded", "skipped"]


class ComponentHealth(BaseModel):
    status: Status
    detail: str


class HealthReport(BaseModel):
    status: Literal["healthy", "degraded"]
    components: dict[str, ComponentHealth] | None = Field(
        default=None, description="Per component; shown to admins only."
    )


def check_database(db: Database) -> ComponentHealth:
    try:
        with db.session() as s:
            s.execute(text("SELECT 1"))
    except StorageError as exc:
        return ComponentHealth(status="degraded", detail=str(exc))
    return ComponentHealth(status="ok", detail=f"{db.dialect} reachable")


def check_broker(queue: JobQueue) -> ComponentHealth:
    url = queue.broker_url
    where = f"embedded {url.removeprefix('sqla+')}" if url.startswith("sqla+") else redact_url(url)
    try:
        queue.ensure_reachable()
    except BrokerUnreachableError as exc:
        return ComponentHealth(status="degraded", detail=f"broker {where}: {exc}")
    return ComponentHealth(status="ok", detail=f"broker {where} reachable")


def check_redis(url: str | None) -> ComponentHealth:
    if not url:
        return ComponentHealth(status="skipped", detail="REDIS_URL unset: in-process event bus")
    client = redis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT, socket_connect_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return ComponentHealth(
            status="degraded", detail=f"redis {redact_url(url)} unreachable: {exc}"
        )
    finally:
        client.close()
    return ComponentHealth(status="ok", detail=f"redis {redact_url(url)} reachable")


def check_anvil(settings: Settings) -> ComponentHealth:
    try:
        path = locate_binary("anvil", settings.anvil_path)
    except EngineNotFoundError as exc:
        return ComponentHealth(status="degraded", detail=str(exc))
    return ComponentHealth(status="ok", detail=f"anvil at {path}")


def check_disk(data_dir: Path) -> ComponentHealth:
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError as exc:
        return ComponentHealth(status="degraded", detail=f"cannot read {data_dir}: {exc}")
    detail = f"{free / 2**30:.1f} GiB free in {data_dir}"
    if free < MIN_FREE_BYTES:
        return ComponentHealth(
            status="degraded", detail=f"{detail} (below {MIN_FREE_BYTES // 2**20} MiB)"
        )
    return ComponentHealth(status="ok", detail=detail)


def count_anvil_processes() -> int | None:
    """Live anvil processes of this user on this machine (None where /proc is unavailable)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    uid = os.getuid()
    count = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            if (entry / "comm").read_text().strip() == "anvil":
                count += 1
        except OSError:  # the process exited while we looked
            continue
    return count


def check_forks(settings: Settings) -> ComponentHealth:
    live = count_anvil_processes()
    if live is None:
        return ComponentHealth(status="skipped", detail="no /proc: cannot count anvil processes")
    detail = (
        f"{live} anvil process(es) on this host (forks live in the workers; "
        f"cap {settings.max_live_forks} per worker process)"
    )
    return ComponentHealth(status="ok", detail=detail)


def system_health(settings: Settings, db: Database, queue: JobQueue) -> HealthReport:
    assert settings.data_dir is not None
    components = {
        "database": check_database(db),
        "broker": check_broker(queue),
        "redis": check_redis(settings.redis_url),
        "anvil": check_anvil(settings),
        "disk": check_disk(settings.data_dir),
        "forks": check_forks(settings),
    }
    healthy = all(c.status != "degraded" for c in components.values())
    return HealthReport(status="healthy" if healthy else "degraded", components=components)
