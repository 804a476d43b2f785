"""schemathesis against the live OpenAPI schema of a running `timemachine serve --api-only`,
authenticated as an admin, with a bounded number of examples per operation: no 5xx response and
no response that violates the schema. The figures (cases, failures) go to stdout (`-s`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.service_support import live_server, server_env
from timemachine.models.auth import Role
from timemachine.security.accounts import create_user
from timemachine.settings import Settings
from timemachine.store import open_database

pytestmark = pytest.mark.integration
PASSWORD = "schemathesis admin passphrase"
MAX_EXAMPLES = 6


@pytest.fixture
def api(tmp_path: Path) -> Iterator[str]:
    """The API alone (no workers) on the embedded default, with an admin `root`."""
    db = open_database(Settings(data_dir=tmp_path).database_url)
    create_user(db, "root", PASSWORD, Role.ADMIN)
    db.dispose()
    env = server_env() | {
        "TIME_MACHINE_DATA_DIR": str(tmp_path),
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "RATE_LIMIT_BURST": "100000",
        "IP_RATE_LIMIT_PER_MINUTE": "1000000",
        "IP_RATE_LIMIT_BURST": "100000",
        "MAX_ACTIVE_SESSIONS_PER_USER": "100000",
    }
    with live_server(tmp_path, ["--api-only"], env) as server:
        yield server.base


def test_no_5xx_and_no_schema_violation_under_schemathesis(api: str, tmp_path: Path) -> None:
    login = httpx.post(
        f"{api}/api/auth/login", json={"username": "root", "password": PASSWORD}, timeout=10
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    report = tmp_path / "report.json"
    run = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "run", f"{api}/openapi.json",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--max-examples", str(MAX_EXAMPLES),
            "--phases", "examples,coverage,fuzzing",
            "--seed", "7",
            "--header", f"Authorization: Bearer {token}",
            "--exclude-path", "/api/auth/logout",  # would end the run's own login
            "--report", "ndjson", "--report-ndjson-path", str(report),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    (tmp_path / "schemathesis.txt").write_text(run.stdout + run.stderr)
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    print(summary)
    failures = run.stdout[run.stdout.find("FAILURES") : run.stdout.find("WARNINGS")]
    assert run.returncode == 0, failures[:20000] + summary + run.stderr[-2000:]
    assert report.exists()
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    assert events, "schemathesis recorded no events"
