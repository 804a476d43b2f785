"""Quorum reads: ask every healthy provider, accept the answer enough of them agree on.

Policies, over `n` healthy providers (those not benched once the round is over):
`any` 1, `majority` ⌊n/2⌋+1, `2/3+1` ⌊2n/3⌋+1, `all` n. A provider whose answer differs from
a strict majority's is on a minority fork: the pool benches it, so it no longer counts as healthy
(and no longer serves reads) until a probe finds it back on the majority's chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from timemachine.errors import InvalidInputError, QuorumError, RpcError

QuorumPolicy = Literal["any", "majority", "2/3+1", "all"]
QUORUM_POLICIES: tuple[QuorumPolicy, ...] = ("any", "majority", "2/3+1", "all")
Key = Callable[[Any], str]


def parse_policy(value: str) -> QuorumPolicy:
    policy = value.strip().lower()
    if policy not in QUORUM_POLICIES:
        raise InvalidInputError(
            f"unknown quorum policy {value!r}; use one of: {', '.join(QUORUM_POLICIES)}"
        )
    return policy


def required_votes(policy: QuorumPolicy, healthy: int) -> int:
    """How many of `healthy` providers must agree under `policy` (at least 1)."""
    if policy == "any":
        return 1
    if policy == "majority":
        return healthy // 2 + 1
    if policy == "all":
        return max(healthy, 1)
    return (2 * healthy) // 3 + 1


def canonical(value: Any) -> str:
    """The default comparison key: the answer as canonical JSON."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def block_hash(value: Any) -> str:
    """Key for blocks: their hash (a missing block is its own answer)."""
    return str(value.get("hash")) if isinstance(value, dict) else canonical(value)


@dataclass(frozen=True)
class QuorumResult:
    """The accepted answer and who said what."""

    value: Any
    agree: int
    of: int
    """Healthy providers at the end of the round (the denominator of the policy)."""
    asked: int
    policy: QuorumPolicy
    said: Mapping[str, str] = field(default_factory=dict)
    """Provider label → its answer's key, or `error: …`."""
    dissenters: tuple[str, ...] = ()
    """Labels of providers that answered something else than the majority (benched)."""


def tally(
    answers: Mapping[str, Any],
    *,
    policy: QuorumPolicy,
    key: Key = canonical,
    benched_after: Callable[[str], bool],
    what: str,
) -> tuple[QuorumResult, tuple[str, ...]]:
    """Count `answers` (label → value or RpcError). Returns the result and the minority labels
    to bench; raises QuorumError, naming who said what, when the policy is not met."""
    said: dict[str, str] = {}
    groups: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for label, answer in answers.items():
        if isinstance(answer, RpcError):
            said[label] = f"error: {answer.message}"
            continue
        answer_key = key(answer)
        said[label] = answer_key
        groups.setdefault(answer_key, []).append(label)
        values.setdefault(answer_key, answer)
    answered = sum(len(group) for group in groups.values())
    best = max(groups, key=lambda k: len(groups[k]), default=None)
    minority: tuple[str, ...] = ()
    if best is not None and len(groups[best]) * 2 > answered:
        minority = tuple(label for k, group in groups.items() if k != best for label in group)
    healthy = [label for label in answers if label not in minority and not benched_after(label)]
    agree = len(groups[best]) if best is not None else 0
    need = required_votes(policy, len(healthy))
    if best is None or agree < need or not healthy:
        who = "; ".join(f"{label}: {said[label]}" for label in answers)
        raise QuorumError(
            f"no {policy} quorum for {what}: {agree} of {len(healthy)} healthy providers agree "
            f"(need {need}); {who}"
        )
    result = QuorumResult(
        value=values[best],
        agree=agree,
        of=len(healthy),
        asked=len(answers),
        policy=policy,
        said=said,
        dissenters=minority,
    )
    return result, minority
