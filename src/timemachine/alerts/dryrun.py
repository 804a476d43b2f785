"""A dry run: what a rule set does with one event — matches, evidence, each channel's message
— with nothing sent or stored (`timemachine rules test`, `POST /rules/dry-run`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from timemachine.alerts.model import alert_from
from timemachine.alerts.render import render
from timemachine.rules.engine import RuleEngine
from timemachine.rules.event import RuleEvent
from timemachine.rules.loader import RuleSet


def dry_run(rules: RuleSet, event: RuleEvent) -> dict[str, Any]:
    engine = RuleEngine(rules)
    matches = []
    for match in engine.evaluate(event):
        alert = alert_from(match, dedup=True, now=dt.datetime.now(dt.UTC))
        messages = {
            name: render(alert, "text", template=rules.channels[name].template)
            for name in match.notify
        }
        matches.append({"rule": match.rule_id, "severity": match.severity,
                        "notify": list(match.notify), "evidence": match.evidence,
                        "messages": messages})  # fmt: skip
    return {
        "event": event.model_dump(mode="json", by_alias=True),
        "matches": matches,
        "disabled": dict(engine.disabled),
    }
