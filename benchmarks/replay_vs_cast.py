"""Time Machine replay vs `cast run`, side by side, on the same transactions and upstream.

Starts the embedded devnet, puts a loopback JSON-RPC proxy in front of it (simulated network
latency, and a count of every upstream call each tool causes, including anvil's and cast's own
state fetches), then for each transaction runs, in turn: `cast run TX`, `timemachine replay TX
--json` (the CLI, a fresh process each time) and `TimeMachine.replay(TX)` (the Python API in a
warm process). Prints median wall time and upstream calls per tool, and ratios against cast.

    python -m benchmarks.replay_vs_cast [--rounds 5] [--latency-ms 0 20] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.rpc_proxy import ProxyProcess, rpc_proxy
from timemachine.devnet import Devnet, run_devnet
from timemachine.forks.locate import locate_binary
from timemachine.machine import TimeMachine

TOOLS = ("cast run", "timemachine CLI", "timemachine API (warm)")
GAS_LINE = re.compile(rb"Gas used: (\d+)")
# Neither tool may answer from Foundry's on-disk RPC cache: every run fetches what it needs.
CAST_ENV = {**os.environ, "FOUNDRY_NO_STORAGE_CACHING": "true"}


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)


async def pick_transactions(net: Devnet) -> list[str]:
    """The last transaction of every block with activity: each replays its block's earlier txs."""
    from timemachine.chain.rpc import RpcClient

    async with RpcClient(net.rpc_url) as rpc:
        head = int(await rpc.call("eth_blockNumber"), 16)
        blocks = await rpc.batch(
            [("eth_getBlockByNumber", [hex(n), False]) for n in range(1, head + 1)]
        )
    chosen = [block["transactions"][-1] for block in blocks if block["transactions"]]
    return [*chosen, net.history.busy_tx]


async def run_process(*command: str, env: dict[str, str] | None = None) -> tuple[float, bytes]:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    output, _ = await process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {output.decode(errors='replace')[-400:]}")
    return elapsed, output


async def measure(
    proxy: ProxyProcess, machine: TimeMachine, txs: Sequence[str], rounds: int
) -> dict[str, Samples]:
    cast = str(locate_binary("cast"))
    cli = str(Path(sys.executable).with_name("timemachine"))
    samples = {tool: Samples() for tool in TOOLS}
    for _ in range(rounds):
        for tx in txs:
            proxy.reset()
            seconds, output = await run_process(cast, "run", tx, "-r", proxy.url, env=CAST_ENV)
            record(samples["cast run"], seconds, proxy)
            cast_gas = int(GAS_LINE.search(output).group(1))  # type: ignore[union-attr]

            proxy.reset()
            seconds, output = await run_process(cli, "replay", tx, "-r", proxy.url, "--json")
            record(samples["timemachine CLI"], seconds, proxy)
            cli_gas = json.loads(output)["replayed"]["gas_used"]

            proxy.reset()
            started = time.perf_counter()
            result = await machine.replay(tx)
            record(samples["timemachine API (warm)"], time.perf_counter() - started, proxy)
            if not cast_gas == cli_gas == result.replayed.gas_used:
                raise RuntimeError(f"{tx}: gas differs: cast {cast_gas}, ours {cli_gas}")
            if result.fidelity.verdict != "exact":
                raise RuntimeError(f"{tx}: replay diverged: {result.fidelity.differences}")
    return samples


def record(samples: Samples, seconds: float, proxy: ProxyProcess) -> None:
    samples.seconds.append(seconds)
    samples.calls.append(int(proxy.stats()["calls"]))


def summarize(latency_ms: float, samples: dict[str, Samples]) -> dict[str, object]:
    cast_median = statistics.median(samples["cast run"].seconds)
    rows = {}
    for tool, sample in samples.items():
        median = statistics.median(sample.seconds)
        rows[tool] = {
            "median_seconds": round(median, 4),
            "ratio_vs_cast": round(median / cast_median, 3),
            "median_upstream_calls": statistics.median(sample.calls),
            "runs": len(sample.seconds),
        }
    return {"latency_ms": latency_ms, "tools": rows}


def print_table(summary: dict[str, object], txs: int) -> None:
    print(f"\nupstream latency {summary['latency_ms']} ms per request, {txs} transactions")
    print(f"{'tool':<26}{'median s':>10}{'× cast':>9}{'upstream calls':>16}")
    tools = summary["tools"]
    assert isinstance(tools, dict)
    for tool, row in tools.items():
        print(
            f"{tool:<26}{row['median_seconds']:>10.3f}{row['ratio_vs_cast']:>9.2f}"
            f"{row['median_upstream_calls']:>16}"
        )


async def main(rounds: int, latencies_ms: Sequence[float], as_json: bool) -> None:
    results = []
    async with run_devnet() as net:
        txs = await pick_transactions(net)
        for latency_ms in latencies_ms:
            with rpc_proxy(net.rpc_url, latency_ms / 1000) as proxy:
                async with TimeMachine(proxy.url) as machine:
                    await machine.replay(txs[0])  # warm: imports, decoder, one anvil process
                    samples = await measure(proxy, machine, txs, rounds)
            summary = summarize(latency_ms, samples)
            results.append(summary)
            if not as_json:
                print_table(summary, len(txs))
    if as_json:
        print(json.dumps({"transactions": len(txs), "rounds": rounds, "runs": results}, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 20.0, 50.0])
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.latency_ms, arguments.json))
