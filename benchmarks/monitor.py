"""The mempool monitor's cost, measured here, with public monitors' published figures as context.

1. Ingest + enrich: notifications per second through `Monitor.take` (normalize, de-duplicate,
   decode, classify, lifecycle, publish on the in-process bus) for a mix of real-shaped
   transactions (ETH transfers, ERC-20 transfers and approvals, V2 swaps, flash loans, unknown
   selectors), each shown by two providers; then the store flush of those records (SQLite).
2. Pending → simulated latency on the devnet: transactions sent to a paused fork of the devnet
   `--burst` at a time (1: one by one; more: concurrent candidates queue for `--forks` warm
   forks), each simulated on a warm fork of the head; p50/p99 from first sighting to
   outcome (what `tx_simulated` carries).
3. Memory soak: `--soak-seconds` of ingestion at `--soak-rate` txs/s with a block every 12 s
   including them; resident memory sampled every 10 s (flat = bounded state).

    python -m benchmarks.monitor [--ingest 20000] [--latency 200] [--burst 1] [--forks 2]
        [--soak-seconds 120] [--soak-rate 500] [--parts ingest,latency,soak]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from timemachine.bus import LocalBus
from timemachine.catalog.devnet import actor_account, actor_address
from timemachine.chain.rpc import RpcClient
from timemachine.chain.tracker import BlockRef
from timemachine.devnet import run_devnet
from timemachine.forks.manager import ForkManager
from timemachine.monitor.enrich import Enricher
from timemachine.monitor.ingest import MonitorChain
from timemachine.monitor.lifecycle import SETTLED_LIMIT, IncludedTx
from timemachine.monitor.service import Monitor
from timemachine.monitor.setup import MonitorOptions, monitor_paused_fork
from timemachine.monitor.traffic import calldata
from timemachine.runtime import default_decoder
from timemachine.store.db import open_database

PEERS = """context (what the peers publish, quoted from memory; not measured here, no network):
  Flashbots Mempool Dumpster archives the public Ethereum mempool seen from several sources,
  on the order of a million unique transactions a day (tens per second on average), with the
  first-seen time per source (like `first_seen` here).
  Blocknative streams pending-transaction events from its node network with sub-second
  delivery; it publishes no per-transaction simulation latency.
  So mainnet needs tens to a few hundred tx/s ingested; neither peer simulates every pending
  transaction before it is mined."""

TOKEN = "0x" + "0a" * 20
OTHER = "0x" + "0b" * 20


def _mix() -> list[tuple[str | None, int, bytes]]:
    """(to, value, calldata) of the kinds a mainnet pool holds."""
    swap = calldata(
        "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
        ["uint256", "uint256", "address[]", "address", "uint256"],
        [10**18, 99, [TOKEN, OTHER], OTHER, 2**40],
    )
    return [
        (OTHER, 10**17, b""),
        (TOKEN, 0, calldata("transfer(address,uint256)", ["address", "uint256"], [OTHER, 5])),
        (TOKEN, 0, calldata("approve(address,uint256)", ["address", "uint256"], [OTHER, 2**255])),
        (TOKEN, 0, swap),
        (TOKEN, 0, bytes.fromhex("deadbeef") + bytes(64)),
        (
            TOKEN,
            0,
            calldata(
                "flashLoanSimple(address,address,uint256,bytes,uint16)",
                ["address", "address", "uint256", "bytes", "uint16"],
                [OTHER, TOKEN, 10**24, b"", 0],
            ),
        ),
    ]


def _notification(n: int, mix: list[tuple[str | None, int, bytes]]) -> dict[str, Any]:
    to, value, data = mix[n % len(mix)]
    return {
        "hash": "0x" + f"{n:064x}",
        "from": "0x" + f"{n % 5000:040x}",
        "to": to,
        "nonce": hex(n // 5000),
        "value": hex(value),
        "gas": hex(200_000),
        "maxFeePerGas": hex(30 * 10**9),
        "maxPriorityFeePerGas": hex(10**9),
        "type": "0x2",
        "input": "0x" + data.hex(),
    }


def _offline_monitor(database_url: str | None = None) -> Monitor:
    chain = MonitorChain(RpcClient("http://127.0.0.1:9"), name="bench")
    database = open_database(database_url) if database_url else None
    return Monitor(chain, Enricher(default_decoder()), LocalBus(), database=database)


def ingest(count: int) -> None:
    mix = _mix()
    notes = [_notification(n, mix) for n in range(count)]
    with tempfile.TemporaryDirectory() as folder:
        monitor = _offline_monitor(f"sqlite:///{Path(folder) / 'bench.db'}")
        started = time.perf_counter()
        for note in notes:
            now = time.time()
            monitor.take("a", note, now)
            monitor.take("b", note, now)  # the second provider's copy: de-duplicated
        took = time.perf_counter() - started
        flushed_at = time.perf_counter()
        stored = monitor.flush()
        flush = time.perf_counter() - flushed_at
    print("1. ingest + enrich (one process, one core)")
    print(f"   {count:,} txs x 2 providers in {took:.2f} s: {count / took:,.0f} txs/s (goal 2,000)")
    print(f"   store flush of {stored:,} records (SQLite): {stored / flush:,.0f} records/s")


async def latency(count: int, burst: int = 1, forks_at_once: int = 2) -> None:
    forks = ForkManager()
    async with run_devnet() as net:
        before = next(r for r in reversed(net.history.scenarios) if not r.benign)
        options = MonitorOptions(
            simulate="all", poll_interval=0.05, deadline=30.0, forks=forks_at_once
        )
        async with monitor_paused_fork(
            net.rpc_url,
            before.block_number - 1,
            forks=forks,
            decoder=default_decoder(),
            bus=LocalBus(),
            options=options,
        ) as chain:
            senders = [actor_account(name) for name in ("alice", "bob", "carol", "dave")]
            latencies: list[float] = []
            for first in range(0, count, burst):
                sent = [
                    await chain.traffic.transfer(
                        senders[n % len(senders)], actor_address("erin"), 1
                    )
                    for n in range(first, min(first + burst, count))
                ]
                for tx in sent:
                    while (record := chain.monitor.lifecycle.get(tx)) is None or (
                        record.simulation is None
                    ):
                        await asyncio.sleep(0.002)
                    latencies.append(record.simulation.latency_ms)
                if first // 50 != (first + len(sent)) // 50:
                    await chain.mine()  # a new head: forks reset once, then warm again
    await forks.shutdown()
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"2. pending -> simulated on the devnet ({options.forks} warm forks, {burst} tx(s) sent "
        "at once, a new head every 50 txs)"
    )
    print(
        f"   {count} txs: p50 {cuts[49]:.0f} ms, p99 {cuts[98]:.0f} ms, max {max(latencies):.0f} ms"
        " (goal p99 <= 250 ms; includes the polling provider's interval)"
    )


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


async def soak(seconds: float, rate: int) -> None:
    monitor = _offline_monitor()
    mix = _mix()
    counter = itertools.count()
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    block, last_block, batch = 1, started, []
    while (elapsed := time.monotonic() - started) < seconds:
        tick = time.monotonic()
        for _ in range(rate // 10):
            n = next(counter)
            note = _notification(n, mix)
            monitor.take("a", note, time.time())
            batch.append(note)
        if time.monotonic() - last_block >= 12:
            ref = BlockRef(block, f"0x{block:064x}", f"0x{block - 1:064x}")
            included = [
                IncludedTx(note["hash"], note["from"], int(note["nonce"], 16), position)
                for position, note in enumerate(batch)
            ]
            monitor.lifecycle.on_block(ref, included)
            monitor.flush()
            block, last_block, batch = block + 1, time.monotonic(), []
        if not samples or elapsed - samples[-1][0] >= 10:
            samples.append((elapsed, _rss_mb()))
        await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - tick)))
    print(f"3. memory soak: {seconds:g} s at {rate} txs/s ({next(counter):,} txs)")
    print("   " + ", ".join(f"{t:.0f}s {mb:.0f} MB" for t, mb in samples))
    lifecycle, ingestor = monitor.lifecycle, monitor.ingestor
    print(  # memory is flat once these bounds are full
        f"   bounded state at the end: {len(lifecycle.settled):,}/{SETTLED_LIMIT:,} settled "
        f"records, {len(ingestor.first_seen):,}/{ingestor.limit:,} de-duplication hashes, "
        f"{len(lifecycle.pending):,} pending"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest", type=int, default=20_000)
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument(
        "--burst", type=int, default=1, help="Pending txs sent at once in the latency part."
    )
    parser.add_argument("--forks", type=int, default=2, help="Warm forks simulating at once.")
    parser.add_argument("--soak-seconds", type=float, default=120.0)
    parser.add_argument("--soak-rate", type=int, default=500)
    parser.add_argument("--parts", default="ingest,latency,soak", help="Which to run.")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "ingest" in parts:
        ingest(args.ingest)
    if "latency" in parts:
        asyncio.run(latency(args.latency, args.burst, args.forks))
    if "soak" in parts:
        asyncio.run(soak(args.soak_seconds, args.soak_rate))
    print(PEERS)


if __name__ == "__main__":
    main()
