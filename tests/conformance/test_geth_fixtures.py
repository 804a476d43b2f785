"""go-ethereum's tracer fixtures on our engine, through `timemachine conformance geth --json`.

The fixtures are third-party data read from ../shared/fixtures/geth-tracetest (next to the repo,
never copied into it). Without them the test skips with the reason; in CI (CI=true) it fails.

The set of matching cases is pinned exactly: a case that stops matching fails the test (a
regression), and so does a case that starts matching (update `MATCHED` in the same change, so
the gain is recorded). Fixtures before London run on py-evm (anvil 1.7.1 / revm misprices those
forks), the others on anvil; the failures left are anvil prestateTracer differences on Prague
(EIP-7702) fixtures; see docs/capsules.md.
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
MATCHED = frozenset(
    {
        "call_tracer/blob_tx",
        "call_tracer/create",
        "call_tracer/deep_calls",
        "call_tracer/inner_create_oog_outer_throw",
        "call_tracer/inner_instafail",
        "call_tracer/inner_revert_reason",
        "call_tracer/oog",
        "call_tracer/revert",
        "call_tracer/revert_reason",
        "call_tracer/simple",
        "call_tracer/simple_onlytop",
        "call_tracer/throw",
        "call_tracer_flat/big_slow",
        "call_tracer_flat/callcode_precompiled_fail_hide",
        "call_tracer_flat/callcode_precompiled_oog",
        "call_tracer_flat/create",
        "call_tracer_flat/create_oog_parity",
        "call_tracer_flat/deep_calls",
        "call_tracer_flat/delegatecall_parent_value",
        "call_tracer_flat/gas",
        "call_tracer_flat/include_precompiled",
        "call_tracer_flat/inner_instafail",
        "call_tracer_flat/inner_precompiled_wrong_gas",
        "call_tracer_flat/inner_throw_outer_revert",
        "call_tracer_flat/nested_create2_action_gas",
        "call_tracer_flat/nested_create_action_gas",
        "call_tracer_flat/nested_create_inerror",
        "call_tracer_flat/oog",
        "call_tracer_flat/option_convert_parity_errors",
        "call_tracer_flat/result_output",
        "call_tracer_flat/revert_reason",
        "call_tracer_flat/selfdestruct",
        "call_tracer_flat/simple",
        "call_tracer_flat/skip_no_balance_error",
        "call_tracer_flat/staticcall_precompiled",
        "call_tracer_flat/suicide",
        "call_tracer_withLog/calldata",
        "call_tracer_withLog/delegatecall",
        "call_tracer_withLog/frontier_create_outofstorage",
        "call_tracer_withLog/multilogs",
        "call_tracer_withLog/notopic",
        "call_tracer_withLog/simple",
        "call_tracer_withLog/tx_partial_failed",
        "call_tracer_withLog/with_onlyTopCall",
        "prestate_tracer/7702_delegate",
        "prestate_tracer/blob_tx",
        "prestate_tracer/create_create",
        "prestate_tracer/create_post_eip158",
        "prestate_tracer/disable_code",
        "prestate_tracer/disable_code_and_storage",
        "prestate_tracer/enable_empty",
        "prestate_tracer/simple",
        "prestate_tracer_with_diff_mode/create",
        "prestate_tracer_with_diff_mode/create_disable_code",
        "prestate_tracer_with_diff_mode/create_disable_storage",
        "prestate_tracer_with_diff_mode/create_post_eip158",
        "prestate_tracer_with_diff_mode/create_suicide",
        "prestate_tracer_with_diff_mode/inner_create_disable_code_and_storage",
        "prestate_tracer_with_diff_mode/simple",
        "prestate_tracer_with_diff_mode/simple_disable_code_and_storage",
        "prestate_tracer_with_diff_mode/suicide_cancun",
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
    assert run.returncode == 1, run.stderr  # some cases fail today, so the exit code says so
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def test_totals_and_the_exact_set_of_matching_cases(report: dict[str, Any]) -> None:
    assert report["total"] == TOTAL
    assert len(report["cases"]) == TOTAL
    assert report["errors"] == 0
    matched = {case["name"] for case in report["cases"] if case["status"] == "matched"}
    assert matched == MATCHED
    assert report["matched"] == len(MATCHED)
    assert report["failed"] == TOTAL - len(MATCHED)


def test_every_case_has_the_documented_shape(report: dict[str, Any]) -> None:
    tracers = {"callTracer", "flatCallTracer", "prestateTracer"}
    for case in report["cases"]:
        assert {"name", "tracer", "status", "differences"} <= set(case)
        assert case["tracer"] in tracers
        assert case["status"] in ("matched", "failed", "error")
        assert bool(case["differences"]) == (case["status"] != "matched"), case["name"]


def test_forks_before_london_run_on_py_evm_without_revm_notes(report: dict[str, Any]) -> None:
    """revm's pre-London gas divergences (KNOWN_DIVERGENCES) are notes on anvil cases only;
    call_tracer/simple (Byzantium), 36,637 gas on anvil, now matches geth's 38,737 on py-evm."""
    backends = {case["name"]: case["backend"] for case in report["cases"]}
    for case in report["cases"]:
        expected = "anvil" if is_at_least(case["hardfork"], "london") else "py-evm"
        assert case["backend"] == expected, case["name"]
        if case["backend"] == "py-evm":
            assert case["notes"] == [], case["name"]
    assert backends["call_tracer/simple"] == "py-evm"
    assert "call_tracer/simple" in MATCHED
    assert set(backends.values()) == {"anvil", "py-evm"}
