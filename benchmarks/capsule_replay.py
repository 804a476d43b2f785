"""Offline capsule replay time vs `cast run`, side by side in one run.

Measures, in one run: the median wall time per capsule of (a) every go-ethereum tracer fixture
in ../shared/fixtures/geth-tracetest (capsules in another shape: prestate, block, raw tx), run and
compared exactly as `timemachine conformance geth` does, by backend; (b) an offline replay of a
capsule exported for the devnet's exploit and for the last transaction of every block with
activity (Python API, warm process, fresh anvil per capsule); and (c) `cast run` on the devnet's
exploit (which needs the devnet as its upstream).

    python -m benchmarks.capsule_replay [--rounds 5] [--fixtures DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from benchmarks.replay_vs_cast import CAST_ENV, pick_transactions, run_process
from timemachine.devnet import run_devnet
from timemachine.forks.locate import locate_binary
from timemachine.forks.manager import ForkManager
from timemachine.machine import TimeMachine, default_decoder, replay_capsule_async

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "shared/fixtures/geth-tracetest"


async def time_fixtures(directory: Path, rounds: int) -> dict[str, list[float]]:
    """Seconds per fixture run, by backend (every fixture, `rounds` times)."""
    from timemachine.conformance.geth import discover, load_fixture, run_fixture

    forks = ForkManager()
    seconds: dict[str, list[float]] = {}
    fixtures = [load_fixture(path, suite) for path, suite in discover(directory)]
    await run_fixture(fixtures[0], forks)  # warm: imports (py-evm takes ~0.9 s once)
    for _ in range(rounds):
        for fixture in fixtures:
            started = time.perf_counter()
            case = await run_fixture(fixture, forks)
            seconds.setdefault(case.backend or "error", []).append(time.perf_counter() - started)
    await forks.shutdown()
    return seconds


async def main(rounds: int, fixtures: Path) -> None:
    if fixtures.is_dir():
        by_backend = await time_fixtures(fixtures, rounds)
        every = [value for values in by_backend.values() for value in values]
        print(f"geth fixtures: {len(every) // rounds} x {rounds} rounds")
        print(f"  median per fixture      {statistics.median(every):.3f} s")
        for backend, values in sorted(by_backend.items()):
            runs = len(values) // rounds
            print(f"  {backend:<8} {runs:>3} fixtures, median {statistics.median(values):.3f} s")
    else:
        print(f"geth fixtures not found at {fixtures}; skipping them")
    cast = str(locate_binary("cast"))
    async with run_devnet() as net, TimeMachine(net.rpc_url) as machine:
        exploit = net.history.scenario("reentrancy-bank").exploit_tx
        txs = [exploit, *await pick_transactions(net)]
        capsules = [await machine.export_capsule(tx) for tx in txs]
        forks, decoder = ForkManager(), default_decoder()
        replays: list[float] = []
        casts: list[float] = []
        for _ in range(rounds):
            for capsule in capsules:
                started = time.perf_counter()
                result = await replay_capsule_async(capsule, forks=forks, decoder=decoder)
                replays.append(time.perf_counter() - started)
                if result.fidelity.verdict != "exact":
                    raise RuntimeError(f"{capsule.target.hash}: {result.fidelity.differences}")
            seconds, _ = await run_process(cast, "run", exploit, "-r", net.rpc_url, env=CAST_ENV)
            casts.append(seconds)
        await forks.shutdown()
    replay_median, cast_median = statistics.median(replays), statistics.median(casts)
    print(f"{len(capsules)} capsules x {rounds} rounds (offline, fresh anvil per replay)")
    print(f"capsule replay median   {replay_median:.3f} s")
    print(f"cast run (exploit)      {cast_median:.3f} s   (local devnet upstream, no latency)")
    print(f"ratio capsule / cast    {replay_median / cast_median:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.fixtures))
