"""Measured divergences of the execution engine (anvil 1.7.1 / revm) from the consensus rules.

Replays and conformance runs attach them as notes to a diverged result of an affected fork, so a
gas difference there is explained rather than mysterious (see docs/capsules.md).
"""

from __future__ import annotations

from timemachine.chain.hardforks import is_at_least

KNOWN_DIVERGENCES: tuple[tuple[str, str], ...] = (
    (
        "berlin",
        "anvil 1.7.1 (revm) prices storage before Berlin with Berlin-era constants: before "
        "Istanbul an SSTORE resetting a non-zero slot costs 2,900 instead of 5,000 and the "
        "clearing refund is 4,800 instead of 15,000; under Istanbul a fresh SSTORE costs 22,100 "
        "instead of 20,000 and a no-op or dirty one 2,200 instead of 800; SELFDESTRUCT carries a "
        "2,600 cold-account charge",
    ),
    ("london", "anvil 1.7.1 (revm) grants no SELFDESTRUCT refund (24,000 before London)"),
    (
        "spuriousdragon",
        "anvil 1.7.1 (revm) charges EXP 50 gas per exponent byte before Spurious Dragon "
        "(EIP-160) instead of 10",
    ),
)
"""(first fork without the divergence, what anvil does before it), measured with anvil's
opcode tracer on the fixtures; reported on every failed case of an older fork."""


def engine_divergences(hardfork: str) -> list[str]:
    """The known anvil divergences that apply to a block run under `hardfork`."""
    return [text for fixed_in, text in KNOWN_DIVERGENCES if not is_at_least(hardfork, fixed_in)]
