"""The rule engine: rules as data (YAML/JSON), a small typed expression language, WASM custom
rules, and an index so each event meets only the rules that can match it.

    from timemachine.rules import RuleEngine, load_file

    engine = RuleEngine(load_file(Path("rules.yaml")))
    for match in engine.evaluate(event):  # event: a RuleEvent (see rules.event, rules.adapt)
        ...
"""

from timemachine.rules.adapt import event_from_replay
from timemachine.rules.engine import Match, RuleEngine
from timemachine.rules.errors import RuleError
from timemachine.rules.event import RuleEvent
from timemachine.rules.loader import RuleSet, load_file, load_text

__all__ = [
    "Match",
    "RuleEngine",
    "RuleError",
    "RuleEvent",
    "RuleSet",
    "event_from_replay",
    "load_file",
    "load_text",
]
