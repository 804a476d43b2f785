"""The chain-access layer's cost, side by side in one run, against real local anvils.

1. Throughput: `eth_blockNumber` and `eth_getBlockByNumber` calls per second, 1 and `--concurrency`
   in flight, through the plain `RpcClient` vs a one-provider `ProviderPool` vs a three-provider
   pool (the same anvil three times, so routing is the only difference).
2. Failover time: the latency of one call when the best-ranked provider is dead (closed port),
   hanging (accepts, never answers; `--timeout`) or answers garbage, and of the next call (the
   bad provider benched), vs a call to a healthy pool.
3. Quorum reads: a block by number through `pool.call` vs `pool.quorum_block` over three
   providers (three anvils with the same chain), and the quorum head (`quorum_tag("latest")`).

    python -m benchmarks.providers [--seconds 1] [--rounds 5] [--concurrency 8] [--timeout 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from timemachine.chain.jsonrpc_server import JsonRpcServer
from timemachine.chain.pool import PoolOptions, ProviderPool
from timemachine.chain.rpc import RpcClient
from timemachine.forks.locate import locate_binary
from timemachine.forks.process import AnvilProcess, free_port

GENESIS = 1_700_000_000


async def rate(call: Callable[[], Awaitable[Any]], seconds: float, concurrency: int) -> float:
    """Completed calls per second with `concurrency` workers for `seconds`."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def throughput(url: str, seconds: float, concurrency: int, rounds: int) -> None:
    print(
        f"1. throughput (calls/s; median of {rounds} interleaved {seconds:g} s runs, so load on "
        "the machine hits every client alike)"
    )
    print(
        f"   {'client':<28} {'in flight':>9} {'eth_blockNumber':>16} {'eth_getBlockByNumber':>21}"
    )
    options = PoolOptions(concurrency=max(concurrency, 1))
    clients: list[tuple[str, RpcClient]] = [
        ("RpcClient (plain)", RpcClient(url, retries=0)),
        ("ProviderPool, 1 provider", ProviderPool(url, options)),
        ("ProviderPool, 3 providers", ProviderPool(f"{url},{url}/b,{url}/c", options)),
    ]
    methods: list[tuple[str, list[Any]]] = [
        ("eth_blockNumber", []),
        ("eth_getBlockByNumber", ["0x1", False]),
    ]
    levels = sorted({1, concurrency})
    samples: dict[tuple[str, int, str], list[float]] = {}
    for _, client in clients:
        await client.call("eth_blockNumber")  # connect
    for _ in range(rounds):
        for name, client in clients:
            for level in levels:
                for method, params in methods:

                    async def one(
                        c: RpcClient = client, m: str = method, a: list[Any] = params
                    ) -> Any:
                        return await c.call(m, a)

                    per_second = await rate(one, seconds, level)
                    samples.setdefault((name, level, method), []).append(per_second)
    for name, client in clients:
        for level in levels:
            numbers, blocks = (statistics.median(samples[(name, level, m)]) for m, _ in methods)
            print(f"   {name:<28} {level:>9} {numbers:>16,.0f} {blocks:>21,.0f}")
        await client.aclose()


async def routing_overhead(calls: int) -> None:
    """What the pool adds per call in-process: ranking, limits, health and metrics bookkeeping,
    measured with a transport that answers at once (no network, no anvil noise)."""

    async def instant(_: object) -> str:
        return "0x1"

    async with ProviderPool("http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3") as pool:
        for _ in range(1000):
            await pool._route(instant, "eth_blockNumber", 1)
        started = time.perf_counter()
        for _ in range(calls):
            await pool._route(instant, "eth_blockNumber", 1)
        per_call = (time.perf_counter() - started) / calls * 1e6
    print(f"   routing overhead of a 3-provider pool: {per_call:.1f} us per call (in-process)")


async def one_call_ms(pool: ProviderPool) -> float:
    started = time.perf_counter()
    await pool.call("eth_blockNumber")
    return (time.perf_counter() - started) * 1000


async def failover(url: str, timeout: float) -> None:
    print(f"2. failover (per-request timeout {timeout:g} s): one call, ms")
    print(f"   {'best-ranked provider':<24} {'first call':>11} {'next call':>10}")
    hanging = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)

    async def garbage(_: bytes, __: bytes) -> tuple[int, bytes]:
        return 200, b"<html>oops</html>"

    junk = JsonRpcServer(raw=garbage)
    await junk.start()
    bad = {
        "healthy": None,
        "dead (closed port)": f"http://127.0.0.1:{free_port()}",
        "hanging": f"http://127.0.0.1:{hanging.sockets[0].getsockname()[1]}",
        "garbage": junk.url,
    }
    for name, first in bad.items():
        urls = url if first is None else f"{first},{url}"
        async with ProviderPool(urls, PoolOptions(timeout=timeout, bench_base=60)) as pool:
            cold = await one_call_ms(pool)
            warm = statistics.median([await one_call_ms(pool) for _ in range(20)])
        print(f"   {name:<24} {cold:>11.1f} {warm:>10.2f}")
    hanging.close()
    await junk.stop()


async def quorum(urls: list[str], rounds: int) -> None:
    print(f"3. quorum reads over {len(urls)} providers (median of {rounds} interleaved, ms)")
    async with ProviderPool(",".join(urls)) as pool:
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "single": lambda: pool.call("eth_getBlockByNumber", ["0x3", False]),
            "block": lambda: pool.quorum_block(3),
            "head": lambda: pool.quorum_tag("latest"),
        }
        for call in calls.values():
            await call()
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(rounds):  # interleaved, like the throughput runs
            for name, call in calls.items():
                started = time.perf_counter()
                await call()
                samples[name].append((time.perf_counter() - started) * 1000)
        single, block, head = (statistics.median(samples[name]) for name in calls)
    print(f"   block 3, one provider (pool.call)        {single:>8.2f}")
    print(f"   block 3, quorum of 3 (quorum_block)      {block:>8.2f}  ({block / single:.1f}x)")
    print(f"   quorum head (quorum_tag latest: 2 reads) {head:>8.2f}  ({head / single:.1f}x)")


async def main(seconds: float, concurrency: int, timeout: float, rounds: int) -> None:
    binary = locate_binary("anvil")
    args = ["--silent", "--timestamp", str(GENESIS)]
    processes = [await AnvilProcess.start(binary, args) for _ in range(3)]
    try:
        for process in processes:
            async with RpcClient(process.url) as client:
                for n in range(1, 6):
                    await client.call("evm_mine", [GENESIS + 12 * n])
        await throughput(processes[0].url, seconds, concurrency, rounds)
        await routing_overhead(20_000)
        await failover(processes[0].url, timeout)
        await quorum([p.url for p in processes], rounds=50 * rounds)
    finally:
        for process in processes:
            process.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=8, help="also measured: 1")
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parsed = parser.parse_args()
    asyncio.run(main(parsed.seconds, parsed.concurrency, parsed.timeout, parsed.rounds))
