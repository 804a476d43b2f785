"""Trace-only screening speed and false alarms on mev-inspect-py's 27 mainnet fixture blocks.

Every transaction of every block is screened with `analysis.trace_only.screen` (the reduced
signal set, no logs or state). Printed: transactions per second with the files already parsed
(the goal: >= 1,000 tx/s) and with parsing included, median of --rounds, and the findings above
"low" per 1,000 transactions.

    python -m benchmarks.trace_only [--rounds 3] [--blocks DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from timemachine.analysis.trace_only import screen
from timemachine.mev import load_block_file

BLOCKS = (
    Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "mev-inspect" / "blocks"
)


def main(rounds: int, folder: Path) -> None:
    paths = sorted(folder.glob("*.json"))
    screened, above_low, parse_times, screen_times = 0, 0, [], []
    for _ in range(rounds):
        started = time.perf_counter()
        blocks = [load_block_file(path) for path in paths]
        parsed = time.perf_counter()
        results = [
            item
            for block in blocks
            for item in screen(block.traces, block_number=block.block_number, coinbase=block.miner)
        ]
        parse_times.append(parsed - started)
        screen_times.append(time.perf_counter() - parsed)
        screened = len(results)
        above_low = sum(len(item.above("low")) for item in results)
    parse, run = statistics.median(parse_times), statistics.median(screen_times)
    print(f"{len(paths)} blocks, {screened} transactions, {rounds} rounds (median)")
    print(f"screening          {screened / run:8.0f} tx/s (target >= 1,000)")
    print(f"parsing included   {screened / (parse + run):8.0f} tx/s")
    print(f"findings above low {above_low * 1000 / screened:8.2f} per 1,000 tx ({above_low})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blocks", type=Path, default=BLOCKS)
    arguments = parser.parse_args()
    main(arguments.rounds, arguments.blocks)
