"""The rule index: each rule is filed under the narrowest keys its scope gives (addresses, else
selectors, else event topics, else "any"), per stage, so an event meets only the rules filed
under its stage and one of its addresses, its selector or its topics — plus the few unscoped ones.
The index is a prefilter; `in_scope` then checks the whole scope exactly."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from timemachine.rules.event import RuleEvent
from timemachine.rules.loader import CompiledRule

ANY_STAGE = "*"
Key = tuple[str, str, str]  # (stage or "*", kind, value)


def index_keys(rule: CompiledRule) -> list[Key]:
    scope = rule.rule.scope
    stages: list[str] = list(scope.stages) or [ANY_STAGE]
    addresses = set(scope.addresses) | {c.address for c in scope.contracts if c.address}
    selectors = {s for c in scope.contracts for s in c.selectors}
    topics = {t for c in scope.contracts for t in c.topics}
    if addresses:
        kind, values = "address", addresses
    elif selectors:
        kind, values = "selector", selectors
    elif topics:
        kind, values = "topic", topics
    else:
        kind, values = "any", {""}
    return [(stage, kind, value) for stage in stages for value in sorted(values)]


def in_scope(rule: CompiledRule, event: RuleEvent, touched: set[str], topics: set[str]) -> bool:
    scope = rule.rule.scope
    if scope.chains and not any(
        c == event.chain_id or str(c).lower() == event.chain.lower() for c in scope.chains
    ):
        return False
    if scope.stages and event.stage not in scope.stages:
        return False
    if scope.addresses and touched.isdisjoint(scope.addresses):
        return False
    return all(
        (contract.address is None or contract.address in touched)
        and (not contract.functions or event.tx.selector in contract.selectors)
        and (not contract.events or not topics.isdisjoint(contract.topics))
        for contract in scope.contracts
    )


class RuleIndex:
    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self.buckets: dict[Key, list[CompiledRule]] = defaultdict(list)
        self.size = 0
        for rule in rules:
            if not rule.rule.enabled:
                continue
            self.size += 1
            for key in index_keys(rule):
                self.buckets[key].append(rule)

    def candidates(
        self, event: RuleEvent, touched: set[str], topics: set[str]
    ) -> list[CompiledRule]:
        """The rules filed under a key of `event`, in file order, each once."""
        keys: list[tuple[str, str]] = [("any", "")]
        keys += [("address", a) for a in touched]
        if event.tx.selector:
            keys.append(("selector", event.tx.selector))
        keys += [("topic", t) for t in topics]
        found: dict[int, CompiledRule] = {}
        for stage in (event.stage, ANY_STAGE):
            for kind, value in keys:
                for rule in self.buckets.get((stage, kind, value), ()):
                    found[rule.ordinal] = rule
        return [found[o] for o in sorted(found)]
