"""MEV inspection speed on mev-inspect-py's 27 mainnet fixture blocks, beside mev-inspect-py.

Our figure: blocks per second of classification + every inspector (swaps, arbitrages, sandwiches,
liquidations, JIT liquidity, miner payments, summary) from already-parsed JSON, the goal being
>= 100 blocks/s; parsing (json.loads + building the flat traces) is timed separately; peak memory
is tracemalloc's peak over one inspection round plus the process's peak RSS. Median of --rounds.

mev-inspect-py runs in the same invocation on the same files through ../shared/peers/
mev_inspect_bench.py (classification and every inspector, no database or RPC) when
--peer-src/--peer-python (or MEV_INSPECT_SRC / MEV_INSPECT_PYTHON) point at its work tree and a
venv set up as ../shared/peers/README.md says; otherwise the README's once-measured figure is
printed and labelled as not measured in this run. mev-inspect-py's own published figure, over
RPC against an Erigon node, is 2-4 s per block.

End to end through the service (`--api`, on by default; `--no-api` skips it): `timemachine serve`
(API + a Celery worker, embedded store and broker) inspects the same blocks as one range job
(`POST /api/time-machine/mev/jobs`, in batches of --batch-size) from a local JSON-RPC node that
serves the fixture blocks with `trace_block` as a contiguous chain; blocks/s is the range over
the time from the POST to the job's completion as GET reports it (fetching over RPC, inspecting,
storing the range), after one warm-up job.

    python -m benchmarks.mev [--rounds 3] [--blocks DIR] [--peer-src DIR --peer-python PATH]
                             [--no-api] [--batch-size 9] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

from benchmarks.service_load import backend_env, create_user, free_port, login, wait_until_up
from timemachine.chain.jsonrpc_server import JsonRpcServer
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


class FixtureNode:
    """The fixture blocks over JSON-RPC as a contiguous chain: block i + 1 is fixture file i
    (`trace_block`, `eth_getBlockByNumber`, `eth_getBlockReceipts`, `eth_blockNumber`)."""

    def __init__(self, files: list[Path]) -> None:
        self.blocks: dict[int, dict[str, Any]] = {}
        for number, path in enumerate(files, 1):
            document = json.loads(path.read_bytes())
            for trace in document["traces"]:
                trace["block_number"] = number
            self.blocks[number] = document
        self.server = JsonRpcServer(self.handle)

    async def handle(self, payload: Any) -> Any:
        if isinstance(payload, list):
            return [await self.handle(item) for item in payload]
        method, params = payload["method"], payload.get("params") or []
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": payload.get("id")}
        if method == "eth_blockNumber":
            reply["result"] = hex(len(self.blocks))
            return reply
        document = self.blocks.get(int(params[0], 16)) if params else None
        if method == "eth_getBlockByNumber":
            reply["result"] = document and {
                "number": params[0],
                "miner": document["miner"],
                "baseFeePerGas": hex(document.get("base_fee_per_gas") or 0),
                "timestamp": hex(document.get("block_timestamp") or 0),
                "transactions": [r["transaction_hash"] for r in document["receipts"]],
            }
        elif method == "eth_getBlockReceipts":
            reply["result"] = document and document["receipts"]
        elif method == "trace_block":
            reply["result"] = document and document["traces"]
        else:
            reply["error"] = {"code": -32601, "message": f"the method {method} does not exist"}
        return reply


async def run_service(files: list[Path], batch_size: int, workers: int) -> dict[str, float]:
    """Seconds from POST to completion of a range job over all `files`, through `serve`."""
    folder = Path(tempfile.mkdtemp(prefix="tm-mev-bench-"))
    env, _ = backend_env("embedded", folder)
    env["OUTBOUND_ALLOW_HOSTS"] = "127.0.0.1"
    node = FixtureNode(files)
    await node.server.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "timemachine.cli.main", "serve", "--port", str(port)]
    create_user(env)
    with (folder / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        await wait_until_up(base, process)
        headers = {"Authorization": f"Bearer {await login(base)}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
            await _job(client, node.server.url, 1, 2, batch_size)  # warm-up: worker, forks, store
            seconds = await _job(client, node.server.url, 1, len(files) + 1, batch_size)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
        await node.server.stop()
    return {"seconds": seconds, "blocks": len(files)}


async def _job(
    client: httpx.AsyncClient, node: str, start: int, end: int, batch_size: int
) -> float:
    body = {"chain_id": 1, "start_block": start, "end_block": end, "batch_size": batch_size,
            "rpc_url": node}  # fmt: skip
    started = time.perf_counter()
    answer = await client.post("/api/time-machine/mev/jobs", json=body)
    if answer.status_code != 202:
        raise SystemExit(f"the job was refused: {answer.status_code} {answer.text}")
    job_id = answer.json()["id"]
    while True:
        job = (await client.get(f"/api/time-machine/mev/jobs/{job_id}")).json()
        if job["status"] == "completed":
            return time.perf_counter() - started
        if job["status"] == "failed":
            raise SystemExit(f"the job failed: {job['error']}")
        await asyncio.sleep(0.05)


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
    parser.add_argument("--api", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--batch-size", type=int, default=9)
    parser.add_argument("--workers", type=int, default=2)
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
    if args.api:
        service = asyncio.run(run_service(files, max(args.batch_size, 1), max(args.workers, 1)))
        print(
            f"Time Machine through the API with a worker ({args.workers} pool processes, batches "
            f"of {args.batch_size}, embedded store and broker, blocks over trace_block RPC): "
            f"{n} blocks in {service['seconds']:.2f}s = {n / service['seconds']:.1f} blocks/s "
            f"end to end ({service['seconds'] / n * 1000:.0f} ms/block)"
        )
    if args.peer_src and args.peer_python and PEER_BENCH.is_file():
        peer = run_peer(args.blocks.resolve(), args.peer_src, args.peer_python)
        print(f"mev-inspect-py (measured now, same files, same machine): {peer}")
        match = re.search(r"excl parse ([\d.]+)", peer)
        if match:
            print(f"  speed-up excluding parse: {n / ours['inspect'] / float(match.group(1)):.1f}x")
    else:
        print(
            f"mev-inspect-py: NOT measured in this run (no --peer-src/--peer-python); "
            f"figure measured once {README_FIGURE}"
        )
    print("mev-inspect-py published: 2-4 s per block over RPC (trace_block on an Erigon node)")


if __name__ == "__main__":
    main()
