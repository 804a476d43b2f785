"""Without the `service` extra the rule engine still loads and evaluates rules; the commands
that need channels or the store fail in one line naming the extra."""

from __future__ import annotations

import os
from pathlib import Path

from tests.unit.test_packaging import run_without_service


def test_rules_engine_runs_without_the_service_stack(tmp_path: Path) -> None:
    done = run_without_service(
        """
        from timemachine.rules import RuleEngine, RuleEvent, load_text
        engine = RuleEngine(load_text('rules: [{id: a, when: "tx.value >= 1 ether"}]'))
        event = RuleEvent.model_validate(
            {"stage": "pending", "chain": "devnet", "chain_id": 1, "tx": {"value": 10**18}}
        )
        print([m.rule_id for m in engine.evaluate(event)])
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['a']\n"


def test_rules_validate_names_the_extra(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text('rules: [{id: a, when: "true"}]\n')
    done = run_without_service(
        f"""
        import sys
        sys.argv = ["timemachine", "rules", "validate", {os.fspath(rules)!r}]
        from timemachine.cli.main import run
        run()
        """,
        tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: this command needs the service stack (jinja2 is not installed); "
        "install it with: pip install 'timemachine[service]'\n"
    )
