"""go-ethereum's tracer fixtures on our engine, through `timemachine conformance geth --json`.

The fixtures are third-party data read from ../shared/fixtures/geth-tracetest (next to the repo,
never copied into it). Without them the test skips with the reason; in CI (CI=true) it fails.

Every case must match geth. Fixtures before London and EIP-7702 set-code transactions run on
py-evm (anvil 1.7.1 / revm misprices those forks and traces set-code state unlike geth), the
others on anvil (`replay.backends.exact_backend`); see docs/replay.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, REPO
from timemachine.chain.hardforks import is_at_least

pytestmark = [pytest.mark.conformance, pytest.mark.integration]

FIXTURES = REPO.parent / "shared" / "fixtures" / "geth-tracetest"

TOTAL = 63
SET_CODE_CASES = frozenset(
    {
        "prestate_tracer/7702_delegate",
        "prestate_tracer/setcode_tx",
        "prestate_tracer_with_diff_mode/eip7702_deauth",
    }
)


@pytest.fixture(scope="module")
def report(anvil_binary: Path) -> dict[str, Any]:
    if not FIXTURES.is_dir():
        message = f"geth tracer fixtures not found at {FIXTURES} (they live in ../shared)"
        if IN_CI:
            pytest.fail(f"{message}; CI must not skip the conformance suite")
        pytest.skip(message)
    command = ["conformance", "geth", str(FIXTURES), "--json"]
    run = subprocess.run(
        [sys.executable, "-m", "timemachine.cli.main", *command],
        capture_output=True,
        check=False,
        text=True,
        timeout=180,
        env={**os.environ, "ANVIL_PATH": str(anvil_binary)},
    )
    assert run.returncode == 0, run.stderr  # every case matches, so the exit code says so
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def test_every_case_matches_geth(report: dict[str, Any]) -> None:
    assert report["total"] == TOTAL
    assert len(report["cases"]) == TOTAL
    assert (report["matched"], report["failed"], report["errors"]) == (TOTAL, 0, 0)
    unmatched = [case["name"] for case in report["cases"] if case["status"] != "matched"]
    assert unmatched == []


def test_every_case_has_the_documented_shape(report: dict[str, Any]) -> None:
    tracers = {"callTracer", "flatCallTracer", "prestateTracer"}
    for case in report["cases"]:
        assert {"name", "tracer", "status", "differences"} <= set(case)
        assert case["tracer"] in tracers
        assert case["status"] in ("matched", "failed", "error")
        assert bool(case["differences"]) == (case["status"] != "matched"), case["name"]


def test_each_case_runs_on_the_backend_exact_for_its_fork_and_transaction(
    report: dict[str, Any],
) -> None:
    """py-evm before London (revm misprices those forks) and for EIP-7702 set-code transactions
    (anvil's prestate tracer lists them unlike geth), anvil otherwise; revm's pre-London notes
    never appear on a py-evm case. call_tracer/simple (Byzantium) used 36,637 gas on anvil and
    matches geth's 38,737 on py-evm."""
    backends = {case["name"]: case["backend"] for case in report["cases"]}
    for case in report["cases"]:
        exact_on_pyevm = not is_at_least(case["hardfork"], "london") or (
            case["name"] in SET_CODE_CASES
        )
        assert case["backend"] == ("py-evm" if exact_on_pyevm else "anvil"), case["name"]
        if case["backend"] == "py-evm":
            assert case["notes"] == [], case["name"]
    assert backends["call_tracer/simple"] == "py-evm"
    assert {backends[name] for name in SET_CODE_CASES} == {"py-evm"}
    assert set(backends.values()) == {"anvil", "py-evm"}
