"""`EventView`: the values a rule's field paths read, computed once per event and shared by every
rule that event meets (the most severe finding, the biggest MEV profit, events by name)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from timemachine.models.analysis import severity_rank
from timemachine.rules.event import EventLog, FindingFields, MevFields, RuleEvent

SEVERITY_LEVELS = ("info", "low", "medium", "high", "critical")
"""Least severe first: a severity's level is its index, so `>=` reads as "at least"."""


def severity_level(name: str) -> int:
    return SEVERITY_LEVELS.index(name)


class EventView:
    """Field values of one event, by dotted path (None where the event has no such value)."""

    def __init__(self, event: RuleEvent) -> None:
        self.event = event

    @cached_property
    def top_finding(self) -> FindingFields | None:
        if not self.event.findings:
            return None
        return min(self.event.findings, key=lambda f: severity_rank(f.severity))

    @cached_property
    def top_mev(self) -> MevFields | None:
        return max(self.event.mev, key=lambda m: m.profit) if self.event.mev else None

    @cached_property
    def logs_by_name(self) -> dict[str, EventLog]:
        found: dict[str, EventLog] = {}
        for log in self.event.logs:
            if log.name is not None:
                found.setdefault(log.name, log)
        return found

    @cached_property
    def delta_by_key(self) -> dict[tuple[str, str], int]:
        totals: dict[tuple[str, str], int] = {}
        for delta in self.event.deltas:
            key = (delta.address, delta.asset)
            totals[key] = totals.get(key, 0) + delta.delta
        return totals

    def delta(self, address: str, asset: str) -> int:
        return self.delta_by_key.get((address, asset), 0)

    def call_arg(self, name: str) -> Any:
        call = self.event.call
        return None if call is None else call.args.get(name)

    def event_arg(self, event_name: str, arg: str) -> Any:
        log = self.logs_by_name.get(event_name)
        return None if log is None else log.args.get(arg)
