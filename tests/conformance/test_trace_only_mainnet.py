"""The real mainnet false-alarm rate of trace-only analysis: every transaction of every block in
../shared/fixtures/mev-inspect/blocks (real arbitrages, liquidations, sandwiches, swaps, flash
loans; third-party data read at run time, never copied) screened with trace-only signals.

The number is held exactly: findings above "low" per 1,000 transactions (0 of 5,762), and the
"low" findings that remain are listed by kind (each explained in docs/detectors.md).
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conformance.test_mev_inspect import FIXTURES, _fixtures
from timemachine.analysis.trace_only import screen
from timemachine.mev import load_block_file

pytestmark = pytest.mark.conformance


def test_mainnet_blocks_raise_no_finding_above_low() -> None:
    blocks = sorted((_fixtures() / "blocks").glob("*.json"))
    assert len(blocks) == 27, FIXTURES
    screened = []
    for path in blocks:
        block = load_block_file(path)
        screened += screen(block.traces, block_number=block.block_number, coinbase=block.miner)
    above_low = [finding for item in screened for finding in item.above("low")]
    assert len(screened) == 5_762
    assert len(above_low) * 1000 / len(screened) == 0.0
    kinds = Counter(
        (finding.detector, finding.severity) for item in screened for finding in item.findings
    )
    assert kinds == {
        ("arbitrary_call", "info"): 43,
        ("arbitrary_call", "low"): 23,
        ("reentrancy", "low"): 2,
    }
