"""Offline capsule replay time vs `cast run`, side by side in one run.

Exports a capsule for the devnet's exploit and for the last transaction of every block with
activity, then measures, in turn: the median wall time of an offline capsule replay (Python API,
warm process, fresh anvil per capsule) and of `cast run` on the devnet's exploit (which needs the
devnet as its upstream). go-ethereum's tracer fixtures join the capsule set once the fixture
importer lands (issue 3).

    python -m benchmarks.capsule_replay [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from benchmarks.replay_vs_cast import CAST_ENV, pick_transactions, run_process
from timemachine.forks.devnet import run_devnet
from timemachine.forks.locate import locate_binary
from timemachine.forks.manager import ForkManager
from timemachine.machine import TimeMachine, default_decoder, replay_capsule_async


async def main(rounds: int) -> None:
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
    asyncio.run(main(parser.parse_args().rounds))
