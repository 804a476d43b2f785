"""Detector precision and recall per class on both scenario sets, and what analysis adds to replay
time.

Two sets, measured apart, each on its own devnet: the bundled scenarios ("first") and the
generalization set (`catalog/scenarios/generalization`, written independently of the detectors).
Every scenario's exploit tx (a benign look-alike's representative tx) is replayed and analysed. A
finding counts when it is above "low". For an exploit, the right classes are its own class, the
ones the set also accepts for it (`ALSO_ACCEPTED`), and `value_extraction` when value was taken;
a finding of any other class, or any finding on a benign look-alike, is a false positive.
Recall of a class is over the exploits of that class (`value_extraction`: over every exploit
that took value from a victim the attacker had no prior relationship with). Timing: median replay
time vs median analysis time over `--rounds` rounds.

    python -m benchmarks.detectors [--rounds 5] [--set first|generalization|both]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from timemachine.analysis import analyze
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios import SCENARIOS, Scenario
from timemachine.catalog.scenarios.generalization import (
    ALSO_ACCEPTED,
    GENERALIZATION_SCENARIOS,
    PRIOR_RELATIONSHIP,
)
from timemachine.devnet import run_devnet
from timemachine.machine import TimeMachine
from timemachine.models.analysis import severity_rank

ABOVE_LOW = severity_rank("medium")
FORMS = {"read_only_reentrancy"}
"""Forms the sets label as classes of their own; the detector reports them as `reentrancy` with
this `evidence.form`."""
VALUE_EXTRACTION = "value_extraction"


@dataclass(frozen=True)
class ScenarioSet:
    scenarios: Sequence[Scenario]
    also_accepted: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Scenario id -> further classes that name its flaw correctly."""
    prior_relationship: frozenset[str] = frozenset()
    """Exploits where value_extraction is not required (the attacker was related before)."""


SETS = {
    "first": ScenarioSet(SCENARIOS),
    "generalization": ScenarioSet(GENERALIZATION_SCENARIOS, ALSO_ACCEPTED, PRIOR_RELATIONSHIP),
}


@dataclass
class Tally:
    """Detection counts of one scenario set."""

    true_positives: Counter[str] = field(default_factory=Counter)
    false_positives: Counter[str] = field(default_factory=Counter)
    false_negatives: Counter[str] = field(default_factory=Counter)
    exploits: int = 0
    right_class: int = 0
    anything: int = 0
    benign: int = 0
    benign_above_low: list[str] = field(default_factory=list)
    rows: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def count(self, record: ScenarioRecord, found: set[str], scenario_set: ScenarioSet) -> None:
        """Count one scenario whose findings above "low" are of the classes `found`."""
        expected = "none" if record.benign else record.vulnerability_class
        self.rows.append((record.id, expected, sorted(found)))
        if record.benign:
            self.benign += 1
            self.false_positives.update(found)
            if found:
                self.benign_above_low.append(record.id)
            return
        right = {record.vulnerability_class, *scenario_set.also_accepted.get(record.id, ())}
        must = [record.vulnerability_class]
        if record.expected_losses:
            right.add(VALUE_EXTRACTION)
            if record.id not in scenario_set.prior_relationship:
                must.append(VALUE_EXTRACTION)
        self.exploits += 1
        self.right_class += bool(found & (right - {VALUE_EXTRACTION}))
        self.anything += bool(found)
        for name in found:
            (self.true_positives if name in right else self.false_positives)[name] += 1
        self.false_negatives.update(name for name in must if name not in found)

    def print(self, name: str) -> None:
        print(f"\n== {name} set: {self.exploits} exploits, {self.benign} benign look-alikes ==")
        for scenario_id, expected, found in self.rows:
            print(f"  {scenario_id:<34}{expected:<24}{', '.join(found) or '-'}")
        print(f"  {'class':<24}{'TP':>4}{'FP':>4}{'FN':>4}{'precision':>11}{'recall':>8}")
        classes = set(self.true_positives) | set(self.false_positives) | set(self.false_negatives)
        for cls in sorted(classes):
            tp, fp = self.true_positives[cls], self.false_positives[cls]
            fn = self.false_negatives[cls]
            precision = tp / (tp + fp) if tp + fp else float("nan")
            recall = tp / (tp + fn) if tp + fn else float("nan")
            print(f"  {cls:<24}{tp:>4}{fp:>4}{fn:>4}{precision:>11.2f}{recall:>8.2f}")
        print(f"  exploits with the right class above low: {self.right_class}/{self.exploits}")
        print(f"  exploits with any finding above low:     {self.anything}/{self.exploits}")
        listed = f" ({', '.join(self.benign_above_low)})" if self.benign_above_low else ""
        print(f"  benign above low: {len(self.benign_above_low)}/{self.benign}{listed}")


async def measure(name: str, rounds: int) -> tuple[Tally, list[float], list[float]]:
    """Stage set `name` on a fresh devnet, replay and analyse each scenario `rounds` times."""
    scenario_set = SETS[name]
    tally = Tally()
    replay_seconds: list[float] = []
    analysis_seconds: list[float] = []
    async with (
        run_devnet(scenarios=scenario_set.scenarios) as net,
        TimeMachine(net.rpc_url) as machine,
    ):
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
                found = {
                    name
                    for f in report.findings
                    if severity_rank(f.severity) <= ABOVE_LOW
                    for name in (f.vulnerability_class.value, f.evidence.form)
                    if name is not None and (name == f.vulnerability_class.value or name in FORMS)
                }
                tally.count(record, found, scenario_set)
    return tally, replay_seconds, analysis_seconds


async def main(rounds: int, names: Sequence[str]) -> None:
    replay_seconds: list[float] = []
    analysis_seconds: list[float] = []
    for name in names:
        tally, replays, analyses = await measure(name, rounds)
        tally.print(name)
        replay_seconds += replays
        analysis_seconds += analyses
    replay_median = statistics.median(replay_seconds)
    analysis_median = statistics.median(analysis_seconds)
    print(f"\n{len(replay_seconds) // rounds} scenarios x {rounds} rounds")
    print(f"replay median   {replay_median * 1000:8.2f} ms")
    print(f"analysis median {analysis_median * 1000:8.2f} ms")
    print(f"analysis adds   {analysis_median / replay_median:8.1%} to replay time (target <= 20%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--set", choices=[*SETS, "both"], default="both")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, list(SETS) if args.set == "both" else [args.set]))
