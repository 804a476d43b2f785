"""Time Machine replay vs `cast run`, side by side, on the same transactions and upstream.

Starts the embedded devnet, puts a loopback JSON-RPC proxy in front of it (simulated network
latency per upstream request, and a count of every upstream call and HTTP round trip each tool
causes, including anvil's and cast's own state fetches), then for each transaction runs, in
turn: `cast run TX`, the CLI cold (`timemachine replay TX --json --no-daemon`, a fresh process
that starts its own anvil), the CLI answered by a warm `timemachine daemon` (a fresh client
process), and `TimeMachine.replay(TX)` (the Python API in a warm process). Every replay must
report cast's gas and an exact fidelity verdict. Prints median wall time, ratio to cast, median
upstream calls and round trips per tool and latency, and the replay's own time as it reports it
(`timings.total`, no process start); before that, `timemachine --help` and
`import timemachine` start-up times (median wall and CPU of repeated runs; with --instructions,
instruction counts from valgrind, which a loaded machine does not skew).

    python -m benchmarks.replay_vs_cast [--transactions 8] [--rounds 1]
        [--latency-ms 0 20 50 100] [--instructions] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import timemachine
from benchmarks.rpc_proxy import ProxyProcess, rpc_proxy
from timemachine.devnet import Devnet, run_devnet
from timemachine.forks.locate import locate_binary
from timemachine.machine import TimeMachine

TOOLS = ("cast run", "CLI cold (no daemon)", "CLI via daemon (warm)", "Python API (warm)")
GAS_LINE = re.compile(rb"Gas used: (\d+)")
# Neither tool may answer from Foundry's on-disk RPC cache: every run fetches what it needs.
CAST_ENV = {**os.environ, "FOUNDRY_NO_STORAGE_CACHING": "true"}
CLI = [sys.executable, "-m", "timemachine.cli.entry"]
"""What the `timemachine` console script runs (pyproject: timemachine.cli.entry:run)."""
CLI_FLAGS = {"CLI cold (no daemon)": "--no-daemon", "CLI via daemon (warm)": "--daemon"}


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    round_trips: list[int] = field(default_factory=list)
    engine: list[float] = field(default_factory=list)
    """The replay's own time as it reports it (`timings.total`): no process start, no imports."""


async def pick_transactions(net: Devnet) -> list[str]:
    """The last transaction of every block with activity (each replays its block's earlier txs),
    then the busiest block's."""
    from timemachine.chain.rpc import RpcClient

    async with RpcClient(net.rpc_url) as rpc:
        head = int(await rpc.call("eth_blockNumber"), 16)
        blocks = await rpc.batch(
            [("eth_getBlockByNumber", [hex(n), False]) for n in range(1, head + 1)]
        )
    chosen = [block["transactions"][-1] for block in blocks if block["transactions"]]
    return [*chosen, net.history.busy_tx]


def spread(txs: Sequence[str], count: int) -> tuple[list[str], str]:
    """`count` of `txs` spread over the history, ending with the last (the busiest block's),
    and the first one, which warms the engines up and is not measured."""
    step = max(1, (len(txs) - 1) // max(1, count))
    return [*txs[step:-1:step][: count - 1], txs[-1]], txs[0]


async def run_process(*command: str, env: dict[str, str] | None = None) -> tuple[float, bytes]:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    output, errors = await process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{command[:2]} failed: {(output + errors).decode()[-400:]}")
    return elapsed, output


async def measure(
    proxy: ProxyProcess,
    machine: TimeMachine,
    txs: Sequence[str],
    rounds: int,
    daemon_env: dict[str, str],
) -> dict[str, Samples]:
    cast = str(locate_binary("cast"))
    samples = {tool: Samples() for tool in TOOLS}
    for _ in range(rounds):
        for tx in txs:
            proxy.reset()
            seconds, output = await run_process(cast, "run", tx, "-r", proxy.url, env=CAST_ENV)
            record(samples["cast run"], seconds, proxy)
            gas = {"cast run": int(GAS_LINE.search(output).group(1))}  # type: ignore[union-attr]

            for tool, flag in CLI_FLAGS.items():
                proxy.reset()
                seconds, output = await run_process(
                    *CLI, "replay", tx, "-r", proxy.url, "--json", flag, env=daemon_env
                )
                record(samples[tool], seconds, proxy)
                result = json.loads(output)
                samples[tool].engine.append(result["timings"]["total"])
                gas[tool] = result["replayed"]["gas_used"]
                check_exact(tx, result["fidelity"])

            proxy.reset()
            started = time.perf_counter()
            replayed = await machine.replay(tx)
            record(samples["Python API (warm)"], time.perf_counter() - started, proxy)
            samples["Python API (warm)"].engine.append(replayed.timings["total"])
            gas["Python API (warm)"] = replayed.replayed.gas_used
            check_exact(tx, replayed.fidelity.model_dump())
            if len(set(gas.values())) != 1:
                raise RuntimeError(f"{tx}: gas differs between tools: {gas}")
    return samples


def check_exact(tx: str, fidelity: dict[str, object]) -> None:
    if fidelity["verdict"] != "exact":
        raise RuntimeError(f"{tx}: replay diverged: {fidelity['differences']}")


def record(samples: Samples, seconds: float, proxy: ProxyProcess) -> None:
    stats = proxy.stats()
    samples.seconds.append(seconds)
    samples.calls.append(int(stats["calls"]))
    samples.round_trips.append(int(stats["http_requests"]))


def summarize(latency_ms: float, samples: dict[str, Samples]) -> dict[str, object]:
    cast_median = statistics.median(samples["cast run"].seconds)
    rows = {}
    for tool, sample in samples.items():
        median = statistics.median(sample.seconds)
        rows[tool] = {
            "median_seconds": round(median, 4),
            "ratio_vs_cast": round(median / cast_median, 3),
            "median_upstream_calls": statistics.median(sample.calls),
            "median_round_trips": statistics.median(sample.round_trips),
            "median_engine_seconds": round(statistics.median(sample.engine), 4)
            if sample.engine
            else None,
            "runs": len(sample.seconds),
        }
    return {"latency_ms": latency_ms, "tools": rows}


def print_table(summary: dict[str, object], txs: int) -> None:
    print(f"\nupstream latency {summary['latency_ms']:g} ms per request, {txs} transactions")
    print(
        f"{'tool':<24}{'median s':>10}{'× cast':>9}{'upstream calls':>16}{'round trips':>13}"
        f"{'engine s':>10}"
    )
    tools = summary["tools"]
    assert isinstance(tools, dict)
    for tool, row in tools.items():
        print(
            f"{tool:<24}{row['median_seconds']:>10.3f}{row['ratio_vs_cast']:>9.2f}"
            f"{row['median_upstream_calls']:>16g}{row['median_round_trips']:>13g}"
            f"{'' if row['median_engine_seconds'] is None else row['median_engine_seconds']:>10}"
        )


def start_up(command: Sequence[str], runs: int) -> dict[str, float]:
    """Median wall and CPU seconds of `command` over `runs` runs (CPU from the children's
    rusage, which a loaded machine inflates less than wall time)."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {
        "median_wall_ms": round(statistics.median(walls) * 1000, 1),
        "median_cpu_ms": round(statistics.median(cpus) * 1000, 1),
    }


def instructions(command: Sequence[str]) -> int | None:
    """Instructions executed by `command` (valgrind's callgrind), or None without valgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    done = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if found else None


def start_up_figures(runs: int, count_instructions: bool) -> dict[str, dict[str, float]]:
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "timemachine --help": [*CLI, "--help"],
        "python -c 'import timemachine'": [sys.executable, "-c", "import timemachine"],
    }
    figures = {}
    for name, command in commands.items():
        figures[name] = start_up(command, runs)
        if count_instructions:
            counted = instructions(command)
            if counted is not None:
                figures[name]["million_instructions"] = round(counted / 1e6)
    return figures


def print_start_up(figures: dict[str, dict[str, float]]) -> None:
    print("\nstart-up (median of repeated runs; the machine may be loaded: compare CPU and instr.)")
    print(f"{'command':<34}{'wall ms':>9}{'CPU ms':>9}{'M instr.':>10}")
    for name, row in figures.items():
        counted = row.get("million_instructions")
        print(
            f"{name:<34}{row['median_wall_ms']:>9.1f}{row['median_cpu_ms']:>9.1f}"
            f"{'' if counted is None else f'{counted:g}':>10}"
        )


def compile_bytecode() -> None:
    """Installed packages ship compiled bytecode; a source checkout gets it here, so start-up
    is not measured with every module compiled anew (PYTHONDONTWRITEBYTECODE may be set)."""
    compileall.compile_dir(Path(timemachine.__file__).parent, quiet=1)


async def main(arguments: argparse.Namespace) -> None:
    compile_bytecode()
    start = start_up_figures(arguments.start_up_runs, arguments.instructions)
    if not arguments.json:
        print_start_up(start)
    results = []
    with tempfile.TemporaryDirectory(prefix="tm-bench-daemon-") as data_dir:
        daemon_env = {**os.environ, "TIME_MACHINE_DATA_DIR": data_dir}
        async with run_devnet() as net:
            txs, warm_up = spread(await pick_transactions(net), arguments.transactions)
            try:
                for latency_ms in arguments.latency_ms:
                    with rpc_proxy(net.rpc_url, latency_ms / 1000) as proxy:
                        async with TimeMachine(proxy.url) as machine:
                            await machine.replay(warm_up)  # imports, decoder, one anvil
                            await run_process(
                                *CLI,
                                "replay",
                                warm_up,
                                "-r",
                                proxy.url,
                                "--json",
                                "--daemon",
                                env=daemon_env,
                            )  # the daemon: started (first latency), warm on this upstream
                            samples = await measure(
                                proxy, machine, txs, arguments.rounds, daemon_env
                            )
                    summary = summarize(latency_ms, samples)
                    results.append(summary)
                    if not arguments.json:
                        print_table(summary, len(txs))
            finally:
                stop = [*CLI, "daemon", "stop"]
                subprocess.run(stop, env=daemon_env, check=False, stdout=subprocess.DEVNULL)
    if arguments.json:
        report = {"transactions": len(txs), "rounds": arguments.rounds, "start_up": start}
        print(json.dumps({**report, "runs": results}, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 20.0, 50.0, 100.0])
    parser.add_argument("--start-up-runs", type=int, default=11)
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--json", action="store_true")
    asyncio.run(main(parser.parse_args()))
