"""Batch replay throughput: Time Machine's `replay_batch` vs a `cast run` loop, same devnet txs.

Starts the embedded devnet, takes its first N transactions (chain order, every block's txs), then
in one run: a loop of `cast run TX` (one process per tx, each re-executing the block's earlier
txs, as cast does) and `replay_batch` on a warm TimeMachine (one fork execution per block, every
tx traced and judged against its receipt), optionally through a latency-injecting proxy. Prints
replays/s of each and the ratio. Every tx must replay with cast's gas and an exact verdict.

    python -m benchmarks.batch_replay [--txs 100] [--concurrency 1 4] [--latency-ms 0] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import Sequence

from benchmarks.replay_vs_cast import CAST_ENV, run_process
from benchmarks.rpc_proxy import rpc_proxy
from timemachine.chain.rpc import RpcClient
from timemachine.chain.scan import scan_blocks
from timemachine.devnet import run_devnet
from timemachine.forks.locate import locate_binary
from timemachine.machine import TimeMachine
from timemachine.models.tx_imports import BatchTarget
from timemachine.replay.batch import replay_batch

GAS_LINE = re.compile(rb"Gas used: (\d+)")


async def cast_loop(url: str, txs: Sequence[str]) -> tuple[float, dict[str, int]]:
    cast = str(locate_binary("cast"))
    gas: dict[str, int] = {}
    started = time.perf_counter()
    for tx in txs:
        _, output = await run_process(cast, "run", tx, "-r", url, env=CAST_ENV)
        match = GAS_LINE.search(output)
        if match is None:
            raise RuntimeError(f"cast run {tx}: no gas line in its output")
        gas[tx] = int(match.group(1))
    return time.perf_counter() - started, gas


async def ours(url: str, txs: Sequence[str], concurrency: int) -> tuple[float, dict[str, int]]:
    targets = [BatchTarget(hash=tx) for tx in txs]
    async with TimeMachine(url) as machine:
        engine = await machine.engine()
        await machine.replay(txs[0])  # warm: imports, decoder, one anvil process (as for cast:
        # its binary is in the page cache after the first run)
        started = time.perf_counter()
        report = await replay_batch(engine, targets, concurrency=concurrency)
        elapsed = time.perf_counter() - started
    if report.exact != len(txs):
        bad = [row for row in report.rows if row.verdict != "exact"][:3]
        raise RuntimeError(f"batch replay not all exact: {report.exact}/{len(txs)}: {bad}")
    return elapsed, {row.hash: row.gas_replayed or 0 for row in report.rows}


async def main(count: int, concurrencies: Sequence[int], latency_ms: float, as_json: bool) -> None:
    async with run_devnet() as net:
        async with RpcClient(net.rpc_url) as rpc:
            found = await scan_blocks(rpc, 1, net.history.head_block)
        txs = [tx.hash for tx in found[:count]]
        with rpc_proxy(net.rpc_url, latency_ms / 1000) as proxy:
            cast_seconds, cast_gas = await cast_loop(proxy.url, txs)
            runs = []
            for concurrency in concurrencies:
                seconds, gas = await ours(proxy.url, txs, concurrency)
                mismatched = [tx for tx in txs if gas[tx] != cast_gas[tx]]
                if mismatched:
                    raise RuntimeError(f"gas differs from cast on {len(mismatched)} txs")
                runs.append((concurrency, seconds))
    blocks = len({tx.block for tx in found[:count]})
    cast_rate = len(txs) / cast_seconds
    summary = {
        "transactions": len(txs),
        "blocks": blocks,
        "latency_ms": latency_ms,
        "cast_run_loop": {"seconds": round(cast_seconds, 3), "replays_per_s": round(cast_rate, 2)},
        "timemachine_batch": [
            {
                "concurrency": concurrency,
                "seconds": round(seconds, 3),
                "replays_per_s": round(len(txs) / seconds, 2),
                "speedup_vs_cast": round(cast_seconds / seconds, 2),
            }
            for concurrency, seconds in runs
        ],
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{len(txs)} devnet txs in {blocks} blocks, upstream latency {latency_ms} ms")
    print(f"{'tool':<34}{'seconds':>9}{'replays/s':>11}{'× cast':>8}")
    print(f"{'cast run loop':<34}{cast_seconds:>9.2f}{cast_rate:>11.2f}{1.0:>8.2f}")
    for row in summary["timemachine_batch"]:  # type: ignore[attr-defined]
        name = f"timemachine batch (concurrency {row['concurrency']})"
        print(
            f"{name:<34}{row['seconds']:>9.2f}{row['replays_per_s']:>11.2f}{row['speedup_vs_cast']:>8.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txs", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.txs, arguments.concurrency, arguments.latency_ms, arguments.json))
