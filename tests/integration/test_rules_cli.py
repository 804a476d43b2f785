"""`timemachine rules validate|test` and `alerts list|ack` as a user runs them: the issue's example
rule dry-run on a replayed devnet exploit, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from timemachine.devnet import Devnet

from .test_cli import assert_one_line_error, timemachine

pytestmark = pytest.mark.integration

EXAMPLE = """\
channels:
  ops-hook: {type: webhook, url: "http://127.0.0.1:9999/hook", secret: "${HOOK_SECRET}"}
rules:
  - id: exploit-before-inclusion
    when: 'stage == "pending" and finding.severity >= "high"'
    severity: critical
    notify: [ops-hook]
"""
ENV = {"HOOK_SECRET": "s3cret", "OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(EXAMPLE)
    return path


def test_example_rule_matches_the_replayed_exploit_as_pending(
    devnet: Devnet, rule_file: Path
) -> None:
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    args = ("rules", "test", str(rule_file), "--tx", tx, "-r", devnet.rpc_url, "--json")
    run = timemachine(*args, "--stage", "pending", env=ENV)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    [match] = report["matches"]
    assert match["rule"] == "exploit-before-inclusion"
    assert match["notify"] == ["ops-hook"]
    assert match["evidence"]["stage"] == "pending"
    assert match["evidence"]["finding.severity"] in ("high", "critical")
    assert report["event"]["tx"]["hash"] == tx.lower()
    assert report["event"]["findings"][0]["class"] == "reentrancy"
    assert f"tx {tx.lower()}" in match["messages"]["ops-hook"]
    assert "s3cret" not in run.stdout
    mined = timemachine(*args, env=ENV)  # the same tx once mined: the rule wants pending
    assert mined.returncode == 0, mined.stderr
    assert json.loads(mined.stdout)["matches"] == []


def test_benign_tx_matches_nothing(devnet: Devnet, rule_file: Path) -> None:
    run = timemachine("rules", "test", str(rule_file), "--tx", devnet.history.busy_tx,
                      "-r", devnet.rpc_url, "--stage", "pending", env=ENV)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].endswith("0 rule(s) match")


def test_validate(rule_file: Path, tmp_path: Path) -> None:
    run = timemachine("rules", "validate", str(rule_file), env=ENV)
    assert run.returncode == 0, run.stderr
    assert (
        run.stdout.strip() == f"{rule_file}: 1 rule(s) (1 enabled, 0 WebAssembly), 1 channel(s): OK"
    )
    assert_one_line_error(
        timemachine("rules", "validate", str(rule_file), env={"OUTBOUND_ALLOW_HOSTS": "127.0.0.1"}),
        2,
        "HOOK_SECRET is not set",
    )
    assert_one_line_error(
        timemachine("rules", "validate", str(rule_file), env={"HOOK_SECRET": "x"}),
        2,
        "channel 'ops-hook': this URL is not allowed",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{id: a, when: 'finding.severity >= \"hihg\"'}]")
    assert_one_line_error(timemachine("rules", "validate", str(bad)), 2, '"hihg" is not a severity')
    assert_one_line_error(
        timemachine("rules", "test", str(bad).replace("bad", "missing"), "--event", "x"),
        2,
        "cannot read",
    )


def test_alerts_list_and_ack_on_an_empty_store(tmp_path: Path) -> None:
    env = {"TIME_MACHINE_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    run = timemachine("alerts", "list", "--json", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []
    assert_one_line_error(timemachine("alerts", "ack", "nope", env=env), 3, "no alert 'nope'")
