"""MEV inspection speed on mev-inspect-py's 27 mainnet fixture blocks, beside mev-inspect-py.

Our figure: blocks per second of classification + every inspector (swaps, arbitrages, sandwiches,
liquidations, JIT liquidity, miner payments, summary) from already-parsed JSON, the goal being
>= 100 blocks/s; parsing (json.loads + building the flat traces) is timed separately; peak memory
is tracemalloc's peak over one inspection round plus the process's peak RSS. Median of --rounds.

mev-inspect-py runs in the same invocation on the same files through ../shared/peers/
mev_inspect_bench.py (classification and every inspector, no database or RPC) when
--peer-src/--peer-python (or MEV_INSPECT_SRC / MEV_INSPECT_PYTHON) point at its work tree and a
venv set up as ../shared/peers/README.md says; otherwise the README's once-measured figure is
printed and labelled as not measured in this run.

    python -m benchmarks.mev [--rounds 3] [--blocks DIR] [--peer-src DIR --peer-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import time
import tracemalloc
from pathlib import Path
from typing import Any

from timemachine.mev import block_from_json, inspect_block

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PEER_BENCH = SHARED / "peers" / "mev_inspect_bench.py"
README_FIGURE = "~8 blocks/s excluding JSON parsing, ~6.5 including (../shared/peers/README.md)"


def run_ours(files: list[Path], rounds: int) -> dict[str, Any]:
    raw = [path.read_bytes() for path in files]
    parse_times: list[float] = []
    inspect_times: list[float] = []
    counts: dict[str, int] = {}
    peak = 0
    for round_number in range(rounds):
        started = time.perf_counter()
        blocks = [block_from_json(json.loads(data)) for data in raw]
        parsed = time.perf_counter()
        if round_number == rounds - 1:
            tracemalloc.start()
        begun = time.perf_counter()
        results = [inspect_block(block) for block in blocks]
        inspect_times.append(time.perf_counter() - begun)
        if round_number == rounds - 1:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        parse_times.append(parsed - started)
        counts = {
            "swaps": sum(len(r.swaps) for r in results),
            "arbitrages": sum(len(r.arbitrages) for r in results),
            "sandwiches": sum(len(r.sandwiches) for r in results),
            "liquidations": sum(len(r.liquidations) for r in results),
            "jit_liquidity": sum(len(r.jit_liquidity) for r in results),
        }
    # the last round ran under tracemalloc (slower): time from the other rounds when there are any
    timed = inspect_times[:-1] if rounds > 1 else inspect_times
    return {
        "parse": statistics.median(parse_times),
        "inspect": statistics.median(timed),
        "peak_traced_mib": peak / 2**20,
        "counts": counts,
    }


def run_peer(blocks_dir: Path, source: Path, python: Path) -> str:
    completed = subprocess.run(
        [str(python), str(PEER_BENCH), str(blocks_dir)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if "blocks/s" in line]
    if completed.returncode != 0 or not lines:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:]
        return f"failed ({' '.join(tail)})"
    return lines[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--blocks", type=Path, default=SHARED / "fixtures/mev-inspect/blocks")
    parser.add_argument("--peer-src", type=Path, default=os.environ.get("MEV_INSPECT_SRC"))
    parser.add_argument("--peer-python", type=Path, default=os.environ.get("MEV_INSPECT_PYTHON"))
    args = parser.parse_args()
    files = sorted(args.blocks.glob("*.json"))
    if not files:
        parser.error(f"no block files in {args.blocks}")
    ours = run_ours(files, max(args.rounds, 1))
    n = len(files)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Time Machine mev, {n} blocks, median of {args.rounds} rounds:")
    print(
        f"  parse (json.loads + flat traces) {ours['parse']:.3f}s, "
        f"classify+inspect {ours['inspect']:.3f}s"
    )
    print(
        f"  blocks/s excluding parse {n / ours['inspect']:.1f}, "
        f"including parse {n / (ours['parse'] + ours['inspect']):.1f} (goal >= 100 excluding)"
    )
    print(
        f"  peak traced memory while inspecting {ours['peak_traced_mib']:.1f} MiB, "
        f"peak RSS {rss:.0f} MiB"
    )
    print(f"  found: {ours['counts']}")
    if args.peer_src and args.peer_python and PEER_BENCH.is_file():
        peer = run_peer(args.blocks.resolve(), args.peer_src, args.peer_python)
        print(f"mev-inspect-py (measured now, same files, same machine): {peer}")
        match = re.search(r"excl parse ([\d.]+)", peer)
        if match:
            print(f"  speed-up excluding parse: {n / ours['inspect'] / float(match.group(1)):.1f}x")
    else:
        print(
            f"mev-inspect-py: NOT measured in this run (no --peer-src/--peer-python); "
            f"published figure {README_FIGURE}"
        )


if __name__ == "__main__":
    main()
