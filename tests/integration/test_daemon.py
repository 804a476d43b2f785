"""`timemachine daemon` and `replay` through it, as a user runs them on the devnet: the same
result as in-process, a second replay served warm, errors as one line, a 0600 link file, stop."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from timemachine.devnet import Devnet
from timemachine.orchestration.daemon_link import LINK_FILE, DaemonLink

pytestmark = pytest.mark.integration
UNKNOWN_TX = "0x" + "ab" * 32


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The daemon's data directory; whatever daemon runs there is stopped afterwards."""
    path = tmp_path_factory.mktemp("daemon")
    yield path
    link = DaemonLink.read(path)
    if link is not None:
        timemachine(path, "daemon", "stop")


def timemachine(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timemachine.cli.main", *args],
        capture_output=True,
        check=False,
        text=True,
        timeout=180,
        env={**os.environ, "TIME_MACHINE_DATA_DIR": str(data_dir)},
    )


def replay_json(data_dir: Path, tx: str, rpc_url: str, *flags: str) -> dict[str, Any]:
    run = timemachine(data_dir, "replay", tx, "--rpc-url", rpc_url, "--json", *flags)
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def status(data_dir: Path) -> dict[str, Any]:
    run = timemachine(data_dir, "daemon", "status", "--json")
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


def without_timings(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("timings", "rpc_requests")}


def test_replay_through_the_daemon(devnet: Devnet, data_dir: Path) -> None:
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    here = replay_json(data_dir, tx, devnet.rpc_url, "--no-daemon")
    assert DaemonLink.read(data_dir) is None  # --no-daemon starts nothing

    started = replay_json(data_dir, tx, devnet.rpc_url, "--daemon")
    link = DaemonLink.read(data_dir)
    assert link is not None
    assert stat.S_IMODE((data_dir / LINK_FILE).stat().st_mode) == 0o600
    warm = replay_json(data_dir, tx, devnet.rpc_url)  # no flag: the running daemon answers

    assert without_timings(started) == without_timings(warm) == without_timings(here)
    assert warm["replayed"]["gas_used"] == 626_377
    assert warm["fidelity"]["verdict"] == "exact"
    # the second replay of the session reads from the warm gateway: fewer upstream requests
    assert warm["rpc_requests"] < started["rpc_requests"]
    facts = status(data_dir)
    assert (facts["pid"], facts["port"]) == (link.pid, link.port)
    assert (facts["replays"], facts["failed"], facts["upstreams"]) == (2, 0, 1)


def test_a_json_replay_the_daemon_answers_loads_no_cli_framework(
    devnet: Devnet, data_dir: Path
) -> None:
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    probe = f"""
import contextlib, io, json, sys
sys.argv = ["timemachine", "replay", "{tx}", "-r", "{devnet.rpc_url}", "--json"]
from timemachine.cli.entry import run
with contextlib.redirect_stdout(io.StringIO()) as out:
    run()
heavy = sorted(m for m in ("typer", "pydantic", "httpx", "timemachine.models") if m in sys.modules)
print(json.dumps([json.loads(out.getvalue())["replayed"]["gas_used"], heavy]))
"""
    env = {**os.environ, "TIME_MACHINE_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [626_377, []]
    assert status(data_dir)["replays"] == 3


def test_text_output_through_the_daemon(devnet: Devnet, data_dir: Path) -> None:
    tx = devnet.history.busy_tx
    run = timemachine(data_dir, "replay", tx, "--rpc-url", devnet.rpc_url, "--depth", "1")
    assert run.returncode == 0, run.stderr
    assert "Traces:" in run.stdout
    assert status(data_dir)["replays"] == 4


def test_daemon_errors_are_one_line_with_the_in_process_exit_code(
    devnet: Devnet, data_dir: Path
) -> None:
    here = timemachine(data_dir, "replay", UNKNOWN_TX, "-r", devnet.rpc_url, "--no-daemon")
    there = timemachine(data_dir, "replay", UNKNOWN_TX, "-r", devnet.rpc_url)
    assert there.returncode == here.returncode != 0
    assert there.stderr == here.stderr
    assert there.stderr.startswith("error: transaction ")
    assert there.stderr.count("\n") == 1
    assert status(data_dir)["failed"] == 1


def test_the_daemon_refuses_a_wrong_token(data_dir: Path) -> None:
    link = DaemonLink.read(data_dir)
    assert link is not None
    forged = DaemonLink(port=link.port, token="not-the-token", pid=link.pid)
    answer = forged.ask("status")
    assert (answer.ok, answer.exit_code, answer.body) == (False, 2, b"")
    assert answer.error.startswith("wrong daemon token")


def test_stop_removes_the_link_and_ends_the_process(data_dir: Path) -> None:
    link = DaemonLink.read(data_dir)
    assert link is not None
    run = timemachine(data_dir, "daemon", "stop")
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"daemon stopped (pid {link.pid})\n"
    assert DaemonLink.read(data_dir) is None
    with pytest.raises(ProcessLookupError):
        os.kill(link.pid, 0)
    gone = timemachine(data_dir, "daemon", "status")
    assert gone.returncode == 1
    assert gone.stderr == "error: no daemon running (start one with: timemachine daemon start)\n"


def test_an_idle_daemon_stops_by_itself(tmp_path: Path) -> None:
    run = timemachine(tmp_path, "daemon", "start", "--idle-timeout", "1")
    assert run.returncode == 0, run.stderr
    link = DaemonLink.read(tmp_path)
    assert link is not None
    assert run.stdout == f"daemon running (pid {link.pid}, 127.0.0.1:{link.port})\n"
    deadline = time.monotonic() + 30
    while DaemonLink.read(tmp_path) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert DaemonLink.read(tmp_path) is None
