"""Fuzzing the rule parsers (user content): any text either compiles or is one RuleError —
never another exception — and a compiled condition evaluates to true/false on any event."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.rule_events import finding, tx_event
from timemachine.rules import RuleError, load_text
from timemachine.rules.expr import FIELDS, KEYWORDS, Scope, compile_condition
from timemachine.rules.view import EventView

SCOPE = Scope({"w": frozenset({"0x" + "11" * 20})})
EVENT = EventView(tx_event(tx={"value": 5}, findings=[finding("high")]))
PIECES = st.sampled_from(
    [
        *FIELDS,
        *KEYWORDS,
        "call.args.x",
        "event.T.v",
        "(",
        ")",
        "[",
        "]",
        ",",
        "==",
        "!=",
        "<",
        ">=",
        '"high"',
        '"pending"',
        "'0x11'",
        "1",
        "0x10",
        "1.5",
        "ether",
        "gwei",
        'watchlist("w")',
        'eth_delta("0x11")',
        "not in",
    ]
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(PIECES, max_size=12).map(" ".join) | st.text(max_size=60))
def test_any_condition_compiles_or_is_one_rule_error(source: str) -> None:
    try:
        compiled = compile_condition(source, SCOPE)
    except RuleError:
        return
    assert compiled.run(EVENT) in (True, False)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=200))
def test_any_document_loads_or_is_one_rule_error(text: str) -> None:
    with contextlib.suppress(RuleError):
        load_text(text, environ={})
