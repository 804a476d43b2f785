"""Load on the running service: N replay requests submitted at once, W WebSocket clients each
following one session, and the status endpoint polled throughout.

Starts `timemachine serve --workers K` (API + a Celery worker with K pool processes + beat) on
the chosen backend, submits N exploit replays of the bundled scenarios (round robin) as fast as
the API takes them, follows W of them over `/ws/sessions/{id}` until their terminal event, and
samples `GET /api/time-machine/replay/{id}/status` latency while the work drains. Prints the
submit rate, replay throughput, status-endpoint p50/p99 as the client saw it and as the server's
own latency histogram (`/metrics`) recorded it over the same window, the machine's load average,
and how many sessions reached each terminal state (none may be lost).

    python -m benchmarks.service_load [--requests 1000] [--websockets 500] [--workers 2]
                                      [--backend embedded|postgres-redis|postgres-rabbitmq]
                                      [--profile FILE]

`--profile FILE`: py-spy samples the API process for 30 s once the WebSockets are open and
writes the share of samples per function (inclusive, top 25) to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from timemachine.catalog.scenarios import SCENARIOS

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BROKERS = {
    "postgres-redis": "redis://127.0.0.1:6379/12",
    "postgres-rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}
TERMINAL = {"completed", "failed", "cancelled"}
USER, PASSWORD = "bench", "bench load passphrase"
LOAD_LIMITS = {
    # One analyst submits everything: lift the per-user abuse limits out of the way.
    "BOOTSTRAP_ADMIN": "false",
    "ACCESS_TOKEN_MINUTES": "600",
    "MAX_ACTIVE_SESSIONS_PER_USER": "100000",
    "RATE_LIMIT_PER_MINUTE": "1000000",
    "RATE_LIMIT_BURST": "100000",
    "IP_RATE_LIMIT_PER_MINUTE": "1000000",
    "IP_RATE_LIMIT_BURST": "100000",
    # ... and the WebSocket caps, so all W followers stay open from one user and address.
    "WS_MAX_PER_USER": "100000",
    "WS_MAX_PER_IP": "100000",
}
STATUS_ROUTE = "/api/time-machine/replay/{session_id}/status"
METRICS_TOKEN = uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def backend_env(backend: str, folder: Path) -> tuple[dict[str, str], str | None]:
    """Environment for `serve` on `backend`, and the scratch database to drop afterwards."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL"}
    }
    env |= {"TIME_MACHINE_DATA_DIR": str(folder), "LOG_LEVEL": "WARNING"}
    env |= LOAD_LIMITS | {"TIME_MACHINE_METRICS_TOKEN": METRICS_TOKEN}
    if backend == "embedded":
        return env, None
    name = f"tm_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    env |= {
        "DATABASE_URL": POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}",
        "CELERY_BROKER_URL": BROKERS[backend],
        "REDIS_URL": "redis://127.0.0.1:6379/12",
    }
    if backend == "postgres-redis":
        import redis

        redis.Redis.from_url(BROKERS[backend]).flushdb()
    else:
        from kombu import Connection, Queue

        with Connection(BROKERS[backend]) as connection:
            for queue_name in ("replay", "analysis", "cleanup"):
                queue = Queue(queue_name, channel=connection.default_channel)
                queue.declare()
                queue.purge()
    return env, name


def drop_database(name: str | None) -> None:
    if name is None:
        return
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(300):
            if process.poll() is not None:
                raise SystemExit("serve exited during startup")
            try:
                if (await client.get(f"{base}/api/system/health")).status_code in (200, 503):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the API did not come up in 30 s")


def create_user(env: dict[str, str]) -> None:
    """The analyst the load runs as (created in the store before the server starts)."""
    command = [sys.executable, "-m", "timemachine.cli.main", "users", "create", USER]
    command += ["--role", "analyst", "--password-stdin"]
    subprocess.run(command, env=env, input=f"{PASSWORD}\n".encode(), check=True, timeout=120)


async def login(base: str) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        body = {"username": USER, "password": PASSWORD}
        response = await client.post(f"{base}/api/auth/login", json=body)
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


async def follow(url: str, token: str) -> str:
    """The last status a session's WebSocket reported before closing."""
    status = "?"
    protocols: Any = ["timemachine", f"bearer.{token}"]
    async with websockets.connect(
        url, open_timeout=60, max_queue=None, subprotocols=protocols
    ) as socket_:
        async for message in socket_:
            status = json.loads(message).get("status", status)
    return status


async def submit_all(client: httpx.AsyncClient, requests: int) -> list[str]:
    """Start `requests` exploit replays at once (round robin over the bundled exploits)."""
    exploits = [scenario.id for scenario in SCENARIOS if not scenario.benign]

    async def submit(index: int) -> str:
        body = {"exploit_id": exploits[index % len(exploits)], "user_id": "bench"}
        response = await client.post("/api/time-machine/replay/exploit/start", json=body)
        response.raise_for_status()
        session_id: str = response.json()["session_id"]
        return session_id

    return list(await asyncio.gather(*(submit(i) for i in range(requests))))


async def drain(
    client: httpx.AsyncClient, ids: list[str], deadline: float
) -> tuple[dict[str, str], list[float]]:
    """Poll the status endpoint, 20 sessions at a time, until every session is terminal:
    (terminal status per session, every request's latency in seconds)."""
    latencies: list[float] = []
    statuses: dict[str, str] = {}
    errors: list[str] = []
    cursor = 0
    while len(statuses) < len(ids) and time.perf_counter() < deadline:
        batch = [i for i in ids[cursor : cursor + 20] if i not in statuses]
        cursor = (cursor + 20) % len(ids)
        for session_id in batch:
            began = time.perf_counter()
            response = await client.get(f"/api/time-machine/replay/{session_id}/status")
            latencies.append(time.perf_counter() - began)
            body = response.json()
            status = body["status"]
            if status in TERMINAL:
                statuses[session_id] = status
                if status == "failed" and not errors:
                    errors.append(str(body.get("error")))
        await asyncio.sleep(0.05)
    if errors:
        print(f"first failure: {errors[0]}")
    return statuses, latencies


async def status_histogram(client: httpx.AsyncClient) -> dict[float, float]:
    """The server's cumulative latency buckets (upper bound in s → count) of the status route."""
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    response.raise_for_status()
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name.endswith("_bucket") and labels.get("route") == STATUS_ROUTE:
                bound = float(labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def histogram_quantile(q: float, before: dict[float, float], after: dict[float, float]) -> float:
    """The q-quantile (s) of what the server observed between two scrapes, interpolated inside
    its bucket as Prometheus' `histogram_quantile` does."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower


def share_within(bound: float, before: dict[float, float], after: dict[float, float]) -> float:
    """The share of the window's requests the server answered within `bound` seconds (a bucket
    bound: exact, unlike the interpolated quantiles)."""
    total = after[float("inf")] - before.get(float("inf"), 0.0)
    return (after[bound] - before.get(bound, 0.0)) / total if total else 0.0


def summarize_profile(raw: Path, out: Path) -> None:
    """py-spy's raw (collapsed) stacks → the top functions by inclusive share of samples."""
    total = 0
    inclusive: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for frame in set(stack.split(";")[1:]):  # the first "frame" is the thread
            inclusive[frame] += int(count)
    rows = [f"{n / total * 100:5.1f}%  {frame}" for frame, n in inclusive.most_common(25)]
    out.write_text(f"{total} samples of the API process (all threads)\n" + "\n".join(rows) + "\n")


async def profile(pid: int, out: Path) -> None:
    """Sample the API process for 30 s with py-spy (run in a thread: it blocks)."""
    raw = out.with_suffix(".raw")
    command = ["py-spy", "record", "-d", "30", "-r", "50", "-f", "raw", "--threads"]
    command += ["-o", str(raw), "--pid", str(pid)]
    py_spy = Path(sys.executable).with_name("py-spy")
    command[0] = str(py_spy) if py_spy.exists() else "py-spy"
    await asyncio.to_thread(subprocess.run, command, check=True, capture_output=True)
    summarize_profile(raw, out)


async def run(
    requests: int, sockets: int, workers: int, backend: str, profile_to: Path | None = None
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tm-load-"))
    env, database = backend_env(backend, folder)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (folder / "serve.log").open("wb")
    command = [sys.executable, "-m", "timemachine.cli.main", "serve", "--port", str(port)]
    command += ["--workers", str(workers)]
    create_user(env)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        await wait_until_up(base, process)
        token = await login(base)
        limits = httpx.Limits(max_connections=100, keepalive_expiry=1)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            base_url=base, timeout=120, limits=limits, headers=headers
        ) as client:
            started = time.perf_counter()
            ids = await submit_all(client, requests)
            submitted = time.perf_counter() - started
            ws_base = base.replace("http://", "ws://")
            followers = [
                asyncio.create_task(follow(f"{ws_base}/ws/sessions/{session_id}", token))
                for session_id in ids[:sockets]
            ]
            sampler = None
            if profile_to is not None:
                sampler = asyncio.create_task(profile(process.pid, profile_to))
            server_before = await status_histogram(client)
            load_before = os.getloadavg()
            statuses, latencies = await drain(client, ids, started + 3600)
            server_after = await status_histogram(client)
            load_after = os.getloadavg()
            if sampler is not None:
                await sampler
            drained = time.perf_counter() - started
            followed = Counter(await asyncio.gather(*followers))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        drop_database(database)

    outcome = Counter(statuses.values())
    print(f"backend {backend}, {workers} worker processes, {os.cpu_count()} cores")
    print(f"{requests} replay requests submitted in {submitted:.2f} s "
          f"({requests / submitted:.0f} requests/s)")  # fmt: skip
    print(f"all terminal after {drained:.1f} s: {dict(outcome)}; lost: {requests - len(statuses)}")
    print(f"replay throughput {outcome['completed'] / drained:.2f} replays/s")
    print(f"{sockets} WebSocket followers ended with: {dict(followed)}")
    report_status(latencies, server_before, server_after)
    print("load average (1, 5, 15 min) when the drain began "
          f"{' '.join(f'{x:.2f}' for x in load_before)}, when it ended "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")  # fmt: skip


def report_status(
    latencies: list[float], before: dict[float, float], after: dict[float, float]
) -> None:
    """The status endpoint's latency as the client measured it and as the server recorded it."""
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(f"status endpoint under load: {len(ordered)} requests, p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms (client side)")  # fmt: skip
    server = [histogram_quantile(q, before, after) * 1000 for q in (0.5, 0.99)]
    within = share_within(0.05, before, after) * 100
    print(f"status endpoint, server histogram: p50 {server[0]:.1f} ms, p99 {server[1]:.1f} ms "
          f"(interpolated in its bucket); {within:.2f} % answered within 50 ms")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--websockets", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["embedded", *BROKERS], default="postgres-redis")
    parser.add_argument("--profile", type=Path, default=None)
    args: Any = parser.parse_args(argv)
    asyncio.run(run(args.requests, args.websockets, args.workers, args.backend, args.profile))


if __name__ == "__main__":
    main()
