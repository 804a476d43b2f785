"""Compare an inspection with ground truth: the MEV objects a block is known to hold, each
given by the fields it must match exactly (a partial, nested mev-inspect-py object)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from timemachine.mev.models import BlockInspection

MEV_TYPES = ("arbitrages", "sandwiches", "liquidations", "jit_liquidity")


def project(actual: Any, expected: Any) -> Any:
    """`actual` cut down to the fields `expected` names (recursively)."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return {key: project(actual.get(key), value) for key, value in expected.items()}
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [project(item, want) for item, want in zip(actual, expected, strict=True)]
    return actual


def truth_mismatches(
    inspection: BlockInspection, expected: Mapping[str, list[dict[str, Any]]]
) -> list[str]:
    """One line per MEV type whose findings differ from the truth; empty when they agree. A
    type the truth does not mention must have no findings (nothing invented)."""
    found = inspection.model_dump(mode="json", include=set(MEV_TYPES))
    problems = []
    for kind in MEV_TYPES:
        want = expected.get(kind, [])
        got = project(found[kind], want)
        if got != want:
            problems.append(f"{kind}: expected {want}, found {got}")
    return problems
