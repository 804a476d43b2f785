"""SIGKILL of the whole worker mid-job: is any session lost or stuck? (issue 13, item 8)

Queues S transaction sessions of N real devnet transactions each, starts a worker
(`timemachine worker`, K pool processes, its own process group, like `serve` runs it), waits
until K sessions are part-way (progress >= --kill-at %), SIGKILLs the whole worker group (main
process, pool processes, anvils), starts a new worker and waits until every session is terminal
or --deadline seconds passed. Prints one table row: sessions interrupted, completed, lost (never
completed), stuck (still pending/running at the deadline), re-run (attempts > 1), and the time
from the restart until the last session finished.

    python -m benchmarks.worker_kill [--sessions 12] [--txs 100] [--workers 2] [--kill-at 30]
                                     [--deadline 900]
                                     [--backend embedded|postgres-redis|postgres-rabbitmq]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.integration.service_support import (
    devnet_hashes,
    queue_transaction_sessions,
    session_records,
)

from benchmarks.service_load import BROKERS, backend_env, drop_database
from timemachine.devnet import run_devnet
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.settings import Settings
from timemachine.store import open_database


async def hashes_of_devnet() -> list[str]:
    async with run_devnet() as devnet:
        return devnet_hashes(devnet)


def start_worker(env: dict[str, str], workers: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "timemachine.cli.main", "worker"]
    command += ["--concurrency", str(workers)]
    with log.open("ab") as out:
        return subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def run(args: Any) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tm-kill-"))
    env, database_name = backend_env(args.backend, folder)
    env.pop("REDIS_URL", None)  # events are not what this measures
    os.environ.update({k: v for k, v in env.items() if k in {"DATABASE_URL", "CELERY_BROKER_URL"}})
    settings = Settings(data_dir=folder)
    hashes = asyncio.run(hashes_of_devnet())
    db = open_database(settings.database_url)
    worker = None
    try:
        ids = queue_transaction_sessions(
            db, settings, hashes, args.sessions, per_session=args.txs, owner="bench"
        )
        worker = start_worker(env, args.workers, folder / "worker.log")
        deadline = time.monotonic() + args.deadline
        while time.monotonic() < deadline:
            running = [r for r in session_records(db, ids) if r.status == "running"]
            if sum(r.progress >= args.kill_at for r in running) >= args.workers:
                break
            time.sleep(0.2)
        kill_group(worker)
        at_kill = session_records(db, ids)
        worker = start_worker(env, args.workers, folder / "worker.log")
        restarted = time.monotonic()
        deadline = restarted + args.deadline
        done_at = None
        while time.monotonic() < deadline:
            if all(r.status.is_terminal for r in session_records(db, ids)):
                done_at = time.monotonic()
                break
            time.sleep(0.5)
        final = session_records(db, ids)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(120)
            except subprocess.TimeoutExpired:
                kill_group(worker)
        db.dispose()
        drop_database(database_name)
    took = f"{done_at - restarted:.1f} s" if done_at is not None else f"> {args.deadline:g} s"
    report(args, at_kill, final, took)


def report(
    args: Any, at_kill: list[ReplaySessionRecord], final: list[ReplaySessionRecord], took: str
) -> None:
    interrupted = [r for r in at_kill if r.status == "running"]
    completed = sum(r.status == "completed" for r in final)
    stuck = sum(r.status in {"pending", "running"} for r in final)
    reruns = sum(getattr(r, "attempts", 0) > 1 for r in final)
    progress = ", ".join(f"{r.progress:.0f}%" for r in interrupted)
    finished_before = sum(r.status == "completed" for r in at_kill)
    header = ["sessions", "txs each", "interrupted", "completed", "lost", "stuck", "re-run"]
    header.append("all done after restart")
    row = [args.sessions, args.txs, len(interrupted), completed, args.sessions - completed]
    row += [stuck, reruns, took]
    print(f"backend {args.backend}, {args.workers} worker processes, {os.cpu_count()} cores")
    print(f"killed with {len(interrupted)} running (at {progress}), {finished_before} completed")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    print("| " + " | ".join(str(cell) for cell in row) + " |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=12)
    parser.add_argument("--txs", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-at", type=float, default=30.0)
    parser.add_argument("--deadline", type=float, default=900.0)
    parser.add_argument("--backend", choices=["embedded", *BROKERS], default="embedded")
    main_args: Any = parser.parse_args(argv)
    run(main_args)


if __name__ == "__main__":
    main()
