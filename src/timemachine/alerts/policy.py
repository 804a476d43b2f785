"""Which matches become alerts: per-rule threshold windows ("5 matches in 60 s", Defender's
alertThreshold), cooldowns (alertTimeoutMs) and one alert per transaction across stages and
providers. Every match held back is counted by rule and reason."""

from __future__ import annotations

import datetime as dt
from collections import Counter, OrderedDict, deque
from collections.abc import Mapping

from timemachine.alerts.clock import Clock
from timemachine.alerts.model import Alert, alert_from, dedup_key
from timemachine.rules.engine import Match
from timemachine.rules.model import Rule

DEDUP_MEMORY = 100_000
"""Transactions remembered for de-duplication (the oldest are forgotten first)."""


class AlertPolicy:
    def __init__(self, rules: Mapping[str, Rule], clock: Clock) -> None:
        self.rules = dict(rules)
        self.clock = clock
        self.windows: dict[str, deque[float]] = {}
        self.muted_until: dict[str, float] = {}
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.suppressed: Counter[tuple[str, str]] = Counter()
        """(rule id, reason) → matches held back; reasons: duplicate, threshold, cooldown."""

    def update_rules(self, rules: Mapping[str, Rule]) -> None:
        """Hot reload: new rules; windows and cooldowns of rules that remain are kept."""
        self.rules = dict(rules)

    def admit(self, match: Match) -> Alert | None:
        rule = self.rules.get(match.rule_id)
        if rule is None:
            return None
        now = self.clock.now()
        key = dedup_key(match) if rule.dedup else None
        if key is not None and key in self.seen:
            self.suppressed[(rule.id, "duplicate")] += 1
            return None
        if now < self.muted_until.get(rule.id, float("-inf")):
            self.suppressed[(rule.id, "cooldown")] += 1
            return None
        counted = 1
        if rule.threshold is not None:
            window = self.windows.setdefault(rule.id, deque())
            window.append(now)
            while window and window[0] <= now - rule.threshold.window:
                window.popleft()
            if len(window) < rule.threshold.count:
                self.suppressed[(rule.id, "threshold")] += 1
                return None
            counted = len(window)
            window.clear()
        if rule.cooldown:
            self.muted_until[rule.id] = now + rule.cooldown
        if key is not None:
            self.seen[key] = None
            if len(self.seen) > DEDUP_MEMORY:
                self.seen.popitem(last=False)
        created = dt.datetime.fromtimestamp(now, dt.UTC)
        return alert_from(match, dedup=rule.dedup, now=created, matches=counted)

    def suppressed_total(self, rule_id: str) -> int:
        return sum(n for (rule, _), n in self.suppressed.items() if rule == rule_id)
