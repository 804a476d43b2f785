"""Rule files, the index and the engine: the issue's example file verbatim, scopes, hot reload."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from tests.unit.rule_events import ATTACKER, TOKEN, TREASURY, finding, tx_event
from timemachine.rules import RuleEngine, RuleError, load_file, load_text

ISSUE_EXAMPLE = """\
channels:
  ops-hook: {type: webhook, url: "http://127.0.0.1:9999/hook", secret: "${HOOK_SECRET}"}
rules:
  - id: exploit-before-inclusion
    when: 'stage == "pending" and finding.severity >= "high"'
    severity: critical
    notify: [ops-hook]
"""
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


def test_issue_example_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(ISSUE_EXAMPLE)
    rules = load_file(path, environ={"HOOK_SECRET": "s3cret"})
    hook = rules.channels["ops-hook"]
    assert hook.type == "webhook"
    assert hook.url == "http://127.0.0.1:9999/hook"
    assert hook.secret is not None
    assert hook.secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(rules)
    engine = RuleEngine(rules)
    [match] = engine.evaluate(tx_event(findings=[finding("critical")]))
    assert (match.rule_id, match.severity, match.notify) == (
        "exploit-before-inclusion",
        "critical",
        ("ops-hook",),
    )
    assert match.evidence == {"stage": "pending", "finding.severity": "critical"}
    assert engine.evaluate(tx_event(stage="mined", findings=[finding("critical")])) == []


def test_missing_secret_is_named_not_guessed() -> None:
    with pytest.raises(RuleError, match=r"environment variable HOOK_SECRET is not set"):
        load_text(ISSUE_EXAMPLE, environ={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [{id: a, when: 'stage == 1', notify: [nope]}]", "unknown channel(s) nope"),
        ("rules: [{id: a}]", "needs `when` (an expression) or `wasm`"),
        ("rules: [{id: a, when: 'tx.value > '}]", "rule 'a': expected a field"),
        ("rules: [{id: a, when: 'true'}, {id: a, when: 'true'}]", "rule id 'a' appears twice"),
        ("rules: [{id: a, when: 'true', cooldown: soon}]", "is not a duration"),
        ("rules: [{id: a, when: 'true', scope: {addresses: ['0x12']}}]", "is not a 0x-prefixed"),
        ("rules: [{id: a, when: 'true', severity: urgent}]", "rules.0.severity"),
        ("rules: [{id: a, when: 'true', scope: {contracts: [{functions: [steal]}]}}]", "neither"),
        ("rules: [oops", "is not valid YAML/JSON"),
        ("- 1", "expected a mapping"),
    ],
)
def test_bad_files(text: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        load_text(text)
    assert message in caught.value.message


def test_scopes_decide_before_conditions() -> None:
    text = f"""
rules:
  - {{id: any, when: "true"}}
  - {{id: mainnet-only, when: "true", scope: {{chains: [mainnet, 1]}}}}
  - {{id: devnet-by-id, when: "true", scope: {{chains: [31337], stages: [mined]}}}}
  - {{id: treasury, when: "true", scope: {{addresses: ["{TREASURY}"]}}}}
  - id: transfer-call
    when: "true"
    scope: {{contracts: [{{functions: ["transfer(address,uint256)"]}}]}}
  - id: token-transfer-event
    when: "true"
    scope: {{contracts: [{{address: "{TOKEN}", events: ["Transfer(address,address,uint256)"]}}]}}
  - {{id: disabled, when: "true", enabled: false}}
"""
    engine = RuleEngine(load_text(text))
    plain = tx_event(tx={"to": "0x" + "33" * 20})
    assert [m.rule_id for m in engine.evaluate(plain)] == ["any"]
    mined = tx_event(stage="mined", tx={"to": TREASURY, "input": "0xa9059cbb" + "00" * 64})
    assert [m.rule_id for m in engine.evaluate(mined)] == [
        "any",
        "devnet-by-id",
        "treasury",
        "transfer-call",
    ]
    elsewhere = {"to": "0x" + "33" * 20}
    logged = tx_event(tx=elsewhere, logs=[{"address": TOKEN, "topics": [TRANSFER_TOPIC]}])
    assert [m.rule_id for m in engine.evaluate(logged)] == ["any", "token-transfer-event"]
    other_emitter = tx_event(tx=elsewhere, logs=[{"address": ATTACKER, "topics": [TRANSFER_TOPIC]}])
    assert [m.rule_id for m in engine.evaluate(other_emitter)] == ["any"]


def test_index_offers_only_rules_that_can_match() -> None:
    addresses = [f"0x{i:040x}" for i in range(1, 1001)]
    text = "rules:\n" + "".join(
        f'  - {{id: r{i}, when: "tx.value > 0", scope: {{addresses: ["{a}"]}}}}\n'
        for i, a in enumerate(addresses)
    )
    text += '  - {id: pending-any, when: "true", scope: {stages: [pending]}}\n'
    engine = RuleEngine(load_text(text))
    event = tx_event(tx={"to": addresses[500], "value": 1})
    candidates = engine.index.candidates(event, event.touched_addresses(), event.topics())
    assert [c.rule.id for c in candidates] == ["r500", "pending-any"]
    assert [m.rule_id for m in engine.evaluate(event)] == ["r500", "pending-any"]
    mined = tx_event(stage="mined", tx={"to": addresses[7], "value": 1})
    assert [m.rule_id for m in engine.evaluate(mined)] == ["r7"]


def test_hot_reload_swaps_whole_rule_sets() -> None:
    engine = RuleEngine(load_text('rules: [{id: old, when: "tx.value > 0"}]'))
    event = tx_event(tx={"value": 5})
    assert [m.rule_id for m in engine.evaluate(event)] == ["old"]
    engine.load(load_text('rules: [{id: new, when: "tx.value > 1"}]'))
    assert [m.rule_id for m in engine.evaluate(event)] == ["new"]
