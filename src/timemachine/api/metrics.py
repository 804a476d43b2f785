"""Prometheus metrics of one API instance (`GET /metrics`).

- `timemachine_http_request_duration_seconds{method,route,status}`: latency by route *template*
  (`/api/time-machine/replay/{session_id}/status`, never the concrete path; unmatched paths share
  one label), so label cardinality stays bounded.
- `timemachine_sessions{status}`: stored sessions by status (read from the store at scrape time).
- `timemachine_queue_length{queue}`: tasks waiting per Celery queue where the broker can tell
  (Redis: LLEN; the embedded SQLite broker: visible messages).
- `timemachine_replay_duration_seconds{kind}`: run time (started → finished) of the newest
  completed sessions, from their stored timings.

Each app has its own registry (tests create many apps in one process).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from timemachine.api.health import count_anvil_processes
from timemachine.chain.metrics import ChainCollector
from timemachine.errors import StorageError
from timemachine.logs import get_logger
from timemachine.models.sessions import SessionKind
from timemachine.settings import Settings
from timemachine.store import Database
from timemachine.store.stats import recent_durations, sessions_by_status
from timemachine.tasks.app import QUEUES
from timemachine.tasks.broker import broker_url

log = get_logger(__name__)
UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPLAY_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


class HttpMetricsMiddleware:
    """ASGI middleware timing every HTTP request, labelled by the matched route's template."""

    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            self.histogram.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )


class StoreCollector(Collector):
    """Sessions by status, replay durations and queue lengths, read when Prometheus scrapes."""

    def __init__(self, database: Callable[[], Database | None], settings: Settings) -> None:
        self.database = database
        self.settings = settings

    def collect(self) -> Iterator[Any]:
        sessions = GaugeMetricFamily(
            "timemachine_sessions", "Stored replay sessions by status.", labels=["status"]
        )
        durations = HistogramMetricFamily(
            "timemachine_replay_duration_seconds",
            "Run time of the newest completed sessions (from stored timings).",
            labels=["kind"],
        )
        db = self.database()
        try:
            if db is None:
                raise StorageError("the database is not open (the app is not started)")
            with db.session() as s:
                counts = sessions_by_status(s)
                recent = recent_durations(s)
        except StorageError as exc:
            log.warning("metrics: store unavailable", error=str(exc))
        else:
            for status, count in counts.items():
                sessions.add_metric([status.value], count)
            for kind in SessionKind:
                values = [d.seconds for d in recent if d.kind is kind]
                buckets = [
                    (str(bound), float(sum(1 for v in values if v <= bound)))
                    for bound in REPLAY_BUCKETS
                ]
                buckets.append(("+Inf", float(len(values))))
                durations.add_metric([kind.value], buckets, sum_value=sum(values))
        yield sessions
        yield durations
        queues = GaugeMetricFamily(
            "timemachine_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        for name, length in queue_lengths(self.settings).items():
            queues.add_metric([name], length)
        yield queues
        anvils = count_anvil_processes()
        if anvils is not None:
            yield GaugeMetricFamily(
                "timemachine_live_anvil_processes",
                "Anvil processes (forks and devnets of the workers) on this host.",
                value=anvils,
            )


def queue_lengths(settings: Settings) -> dict[str, int]:
    """Waiting tasks per queue, for the brokers that can tell (empty otherwise or when down)."""
    url = broker_url(settings)
    try:
        if url.startswith(("redis://", "rediss://")):
            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            try:
                return {name: int(client.llen(name)) for name in QUEUES}
            finally:
                client.close()
        if url.startswith("sqla+"):
            return _sqla_queue_lengths(url.removeprefix("sqla+"))
    except (redis.RedisError, SQLAlchemyError, OSError) as exc:
        log.warning("metrics: broker queue lengths unavailable", error=str(exc))
    return {}


def _sqla_queue_lengths(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(
                connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
                .scalars()
                .all()
            )
            lengths = dict.fromkeys(QUEUES, 0)
            if {"kombu_queue", "kombu_message"} <= tables:
                rows = connection.execute(
                    text(
                        "SELECT q.name, COUNT(m.id) FROM kombu_queue q JOIN kombu_message m "
                        "ON m.queue_id = q.id WHERE m.visible = 1 GROUP BY q.name"
                    )
                ).all()
                for name, count in rows:
                    if name in lengths:
                        lengths[name] = int(count)
            return lengths
    finally:
        engine.dispose()


def create_registry(
    database: Callable[[], Database | None], settings: Settings
) -> tuple[CollectorRegistry, Histogram]:
    """A registry with the store collector (reading `database()` at scrape time) and the HTTP
    latency histogram (returned)."""
    registry = CollectorRegistry()
    histogram = Histogram(
        "timemachine_http_request_duration_seconds",
        "HTTP request latency by method, route template and status.",
        ["method", "route", "status"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    registry.register(StoreCollector(database, settings))
    registry.register(ChainCollector())  # provider pools, failovers, reorgs (timemachine.chain)
    return registry, histogram
