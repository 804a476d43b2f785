"""`timemachine serve` / `worker` argument and start-up errors: one line, the error's exit code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from timemachine.cli.serve import DEFAULT_QUEUES, beat_command, worker_command
from timemachine.settings import Settings


def _run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TIME_MACHINE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "timemachine.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_port_in_use_is_one_line_and_exit_7(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run(["serve", "--api-only", "--host", "127.0.0.1", "--port", str(port)], tmp_path)
    assert result.returncode == 7
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in result.stderr


def test_exclusive_flags_exit_2(tmp_path: Path) -> None:
    result = _run(["serve", "--api-only", "--workers-only"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --api-only and --workers-only exclude each other"


def test_worker_rejects_unknown_queues(tmp_path: Path) -> None:
    result = _run(["worker", "--queues", "replay,mempool"], tmp_path)
    assert result.returncode == 2
    assert "unknown queue(s) mempool" in result.stderr


def test_worker_and_beat_commands(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, log_level="info")
    command = worker_command(settings, concurrency=3, queues=DEFAULT_QUEUES)
    assert command[1:] == [
        "-m",
        "celery",
        "-A",
        "timemachine.tasks.app",
        "worker",
        "-Q",
        "replay,analysis,cleanup,alerts",
        "-c",
        "3",
        "-P",
        "prefork",
        "-l",
        "INFO",
    ]
    beat = beat_command(settings)
    assert beat[4:6] == ["timemachine.tasks.app", "beat"]
    assert beat[-1] == str(tmp_path / "celerybeat-schedule")


def test_run_worker_hands_celery_its_worker_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from timemachine.cli.serve import run_worker
    from timemachine.tasks.app import celery_app

    seen: list[list[str]] = []

    def worker_main(argv: list[str]) -> None:
        seen.append(argv)

    monkeypatch.setattr(celery_app, "worker_main", worker_main)
    settings = Settings(data_dir=tmp_path, log_level="warning")
    run_worker(settings, concurrency=2, queues=["replay"], beat=True)
    assert seen == [
        [
            "worker",
            "-Q",
            "replay",
            "-c",
            "2",
            "-P",
            "prefork",
            "-l",
            "WARNING",
            "-B",
            "-s",
            str(tmp_path / "celerybeat-schedule"),
        ]
    ]
