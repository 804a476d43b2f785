"""Known engine divergences are attached by fork, and only where they apply."""

from __future__ import annotations

import pytest

from timemachine.forks.quirks import KNOWN_DIVERGENCES, engine_divergences

SSTORE, SELFDESTRUCT_REFUND, EXP = (text for _, text in KNOWN_DIVERGENCES)


@pytest.mark.parametrize(
    ("hardfork", "expected"),
    [
        ("frontier", [SSTORE, SELFDESTRUCT_REFUND, EXP]),
        ("tangerine", [SSTORE, SELFDESTRUCT_REFUND, EXP]),
        ("spuriousdragon", [SSTORE, SELFDESTRUCT_REFUND]),
        ("istanbul", [SSTORE, SELFDESTRUCT_REFUND]),
        ("berlin", [SELFDESTRUCT_REFUND]),
        ("london", []),
        ("prague", []),
    ],
)
def test_divergences_by_fork(hardfork: str, expected: list[str]) -> None:
    assert engine_divergences(hardfork) == expected


def test_the_sstore_note_names_the_measured_prices() -> None:
    assert "2,900 instead of 5,000" in SSTORE
