"""Detector precision and recall per class on the bundled scenario library, and what analysis adds
to replay time.

Every bundled scenario (exploits and benign look-alike controls) is replayed on the devnet and
analysed. A scenario counts as detected for class C when a finding of class C above "low" is
reported; benign controls expect no such finding. Timing: median replay time vs median analysis
time over `--rounds` rounds.

    python -m benchmarks.detectors [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter

from timemachine.analysis import analyze
from timemachine.devnet import run_devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import severity_rank

ABOVE_LOW = severity_rank("medium")


async def main(rounds: int) -> None:
    replay_seconds: list[float] = []
    analysis_seconds: list[float] = []
    true_positives: Counter[str] = Counter()
    false_positives: Counter[str] = Counter()
    false_negatives: Counter[str] = Counter()
    async with run_devnet() as net, TimeMachine(net.rpc_url) as machine:
        for round_number in range(rounds):
            for record in net.history.scenarios:
                started = time.perf_counter()
                result = await machine.replay(record.exploit_tx)
                replayed = time.perf_counter()
                report = analyze(result)
                analysis_seconds.append(time.perf_counter() - replayed)
                replay_seconds.append(replayed - started)
                if round_number:
                    continue  # detection is deterministic: count it once
                expected = None if record.benign else record.vulnerability_class
                found = {
                    f.vulnerability_class.value
                    for f in report.findings
                    if severity_rank(f.severity) <= ABOVE_LOW
                }
                for name in found:
                    (true_positives if name == expected else false_positives)[name] += 1
                if expected is not None and expected not in found:
                    false_negatives[expected] += 1
    scenarios = len(replay_seconds) // rounds
    print(f"{scenarios} scenarios x {rounds} rounds")
    print(f"{'class':<20}{'TP':>4}{'FP':>4}{'FN':>4}{'precision':>11}{'recall':>8}")
    for name in sorted(set(true_positives) | set(false_positives) | set(false_negatives)):
        tp, fp, fn = true_positives[name], false_positives[name], false_negatives[name]
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        print(f"{name:<20}{tp:>4}{fp:>4}{fn:>4}{precision:>11.2f}{recall:>8.2f}")
    replay_median = statistics.median(replay_seconds)
    analysis_median = statistics.median(analysis_seconds)
    print(f"replay median   {replay_median * 1000:8.2f} ms")
    print(f"analysis median {analysis_median * 1000:8.2f} ms")
    print(f"analysis adds   {analysis_median / replay_median:8.1%} to replay time (target <= 20%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
