"""The rule engine: an event in, the rules it matches out (with the evidence each one read).

Hot reload: `load` builds the new index aside and swaps one reference, so an event is evaluated
wholly against the old or wholly against the new rules and none is dropped. A WASM rule that
traps is disabled with its error (`disabled`); the other rules keep running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from timemachine.logs import get_logger
from timemachine.models.analysis import Severity
from timemachine.rules.event import RuleEvent
from timemachine.rules.index import RuleIndex, in_scope
from timemachine.rules.loader import CompiledRule, RuleSet
from timemachine.rules.view import EventView
from timemachine.rules.wasm import WasmRuleError

log = get_logger(__name__)


@dataclass(frozen=True)
class Match:
    rule_id: str
    severity: Severity
    notify: tuple[str, ...]
    event: RuleEvent
    evidence: dict[str, Any] = field(default_factory=dict)


class RuleEngine:
    def __init__(self, rules: RuleSet | None = None) -> None:
        self.ruleset = RuleSet({}, ())
        self.index = RuleIndex(())
        self.disabled: dict[str, str] = {}
        if rules is not None:
            self.load(rules)

    def load(self, rules: RuleSet) -> None:
        """Replace the rules (hot reload): the new index is built, then swapped in."""
        index = RuleIndex(rules.rules)
        self.ruleset, self.index = rules, index
        self.disabled = {r.rule.id: r.error for r in rules.rules if r.error is not None}

    def evaluate(self, event: RuleEvent) -> list[Match]:
        index = self.index
        touched, topics = event.touched_addresses(), event.topics()
        view = EventView(event)
        matches: list[Match] = []
        for rule in index.candidates(event, touched, topics):
            if rule.error is None and in_scope(rule, event, touched, topics):
                match = self._run(rule, view)
                if match is not None:
                    matches.append(match)
        return matches

    def _run(self, compiled: CompiledRule, view: EventView) -> Match | None:
        if compiled.condition is not None and not compiled.condition.run(view):
            return None
        if compiled.wasm is not None:
            try:
                if not compiled.wasm.matches(view.event):
                    return None
            except WasmRuleError as exc:
                compiled.error = exc.message
                self.disabled[compiled.rule.id] = exc.message
                log.warning("rule disabled", rule=compiled.rule.id, error=exc.message)
                return None
        evidence = (
            {name: _plain(get(view)) for name, get in compiled.condition.fields.items()}
            if compiled.condition is not None
            else {}
        )
        rule = compiled.rule
        return Match(rule.id, rule.severity, tuple(rule.notify), view.event, evidence)


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value)
    return value
