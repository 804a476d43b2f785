"""The rule language: parsed and type-checked at load, evaluated exactly."""

from __future__ import annotations

import pytest

from tests.unit.rule_events import ATTACKER, ETHER, TOKEN, TREASURY, finding, tx_event
from timemachine.rules.errors import RuleError
from timemachine.rules.event import RuleEvent
from timemachine.rules.expr import Scope, compile_condition
from timemachine.rules.view import EventView

SCOPE = Scope({"treasury": frozenset({TREASURY}), "empty": frozenset()})


def holds(source: str, event: RuleEvent) -> bool:
    return bool(compile_condition(source, SCOPE).run(EventView(event)))


def test_issue_examples() -> None:
    rich = tx_event(tx={"value": 10 * ETHER, "to": TREASURY.upper().replace("0X", "0x")})
    poor = tx_event(tx={"value": 10 * ETHER - 1})
    source = 'tx.value >= 10 ether and tx.to in watchlist("treasury")'
    assert holds(source, rich)
    assert not holds(source, poor)
    high = tx_event(findings=[finding("high")])
    source = 'finding.severity >= "high" and stage == "pending"'
    assert holds(source, high)
    assert holds(source, tx_event(findings=[finding("low"), finding("critical")]))
    assert not holds(source, tx_event(findings=[finding("medium")]))
    assert not holds(source, tx_event(stage="mined", findings=[finding("high")]))
    assert not holds(source, tx_event())  # no finding: the comparison is false


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("tx.value == 1.5 ether", True),
        ("tx.value == 1500000000 gwei", True),
        ("tx.value > 1500000000000000000 wei", False),
        ("tx.gas_price >= 30 gwei", True),
        ("tx.gas_price > 0x6fc23ac00", False),  # 30 gwei
        ("not tx.value < 1 ether", True),
        ('tx.from == "' + ATTACKER.upper().replace("0X", "0x") + '"', True),
        ('tx.selector == "0xa9059cbb"', True),
        ('call.name == "transfer" and call.args.amount > 5', True),
        ('"Transfer" in events and event.Transfer.value == 7', True),
        ('"Approval" in events', False),
        ('"Approval" not in events', True),
        ("event.Approval.value == 7", False),
        ('tx.to in ["0x' + "22" * 20 + '", "' + TREASURY + '"]', True),
        ('tx.to in watchlist("empty")', False),
        (f'eth_delta("{ATTACKER}") == 2 ether', True),
        (f'token_delta("{ATTACKER}", "{TOKEN}") < 0', True),
        ('sim.reverted or mev.type == "sandwich"', True),
        ('mev.profit >= 3 ether and "arbitrage" in mev.types', True),
        ("reorg.depth > 1", False),
        ('(chain == "devnet" or chain_id == 1) and stage != "mined"', True),
    ],
)
def test_conditions(source: str, expected: bool) -> None:
    event = tx_event(
        tx={"value": 15 * ETHER // 10, "gas_price": 30 * 10**9, "input": "0xa9059cbb" + "00" * 64},
        call={"name": "transfer", "signature": "transfer(address,uint256)", "args": {"amount": 9}},
        logs=[{"address": TOKEN, "topics": ["0xddf2"], "name": "Transfer", "args": {"value": 7}}],
        deltas=[
            {"address": ATTACKER, "asset": "eth", "delta": 2 * ETHER},
            {"address": ATTACKER, "asset": TOKEN, "delta": -5},
        ],
        simulation={"success": True},
        mev=[{"type": "sandwich", "profit": 3 * ETHER}, {"type": "arbitrage", "profit": ETHER}],
    )
    assert holds(source, event) is expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('finding.severity >= "hihg"', '"hihg" is not a severity'),
        ('stage == "pendng"', '"pendng" is not a stage'),
        ("tx.value >= 10 ethr", "expected `and`, `or` or the end of the expression at column 16"),
        ('tx.value >= "10"', "`>=` compares int with str"),
        ("tx.to > tx.from", "orders numbers and severities only"),
        ("tx.valu > 1", "unknown field 'tx.valu'"),
        ('tx.to in watchlist("nope")', 'watchlist("nope") at column 10 is not defined'),
        ("tx.value in 5", "`in` needs a list"),
        ("tx.value", "a condition must be true/false"),
        ("tx.value > 1.5", "a fraction needs a unit"),
        ("tx.value > 0.1 wei", "not a whole number of wei"),
        ("tx.value > 1 and", "expected a field, a literal"),
        ("__import__('os')", "unknown function '__import__'"),
        ("tx.__class__ == 1", "unknown field 'tx.__class__'"),
        ("tx.value ; 1", "unexpected character ';' at column 10"),
        ("tx.value + 1 > 2", "unexpected character '+'"),
        ("not tx.value", "`not` needs a true/false value"),
        ('[1, "a"] == tx.value', "a list mixes int and str"),
    ],
)
def test_errors_at_load(source: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_condition(source, SCOPE)
    assert message in caught.value.message


def test_evidence_names_the_fields_read() -> None:
    compiled = compile_condition('tx.value >= 1 ether and finding.severity >= "high"', SCOPE)
    assert sorted(compiled.fields) == ["finding.severity", "tx.value"]


def test_absent_values_are_false_also_bare_and_negated() -> None:
    assert not holds("sim.success", tx_event())
    assert not holds("not sim.success", tx_event())
    assert holds("not sim.success", tx_event(simulation={"success": False}))
    assert holds("not (finding.count > 0)", tx_event())
