"""Provider pools against real chains: failover from a dead, hanging or garbage-answering first
provider (library, `timemachine replay`, `chain status`), 429 with Retry-After, and quorum reads
with one provider on another fork (several anvil processes as providers)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from timemachine.chain.pool import PoolOptions, ProviderPool
from timemachine.devnet import Devnet
from timemachine.errors import QuorumError, RpcUnavailableError
from timemachine.forks.process import AnvilProcess
from timemachine.machine import TimeMachine
from timemachine.settings import Settings

from .chain_support import (
    RateLimitedProvider,
    dead_url,
    garbage_provider,
    hanging_provider,
    rpc,
)
from .test_cli import timemachine

pytestmark = pytest.mark.integration

TIMEOUT = 2.0
"""The per-request timeout the failover tests run with."""


@contextlib.asynccontextmanager
async def bad_first(kind: str) -> AsyncIterator[str]:
    if kind == "dead":
        yield dead_url()
    elif kind == "hanging":
        async with hanging_provider() as url:
            yield url
    else:
        async with garbage_provider() as url:
            yield url


@pytest.mark.parametrize("kind", ["dead", "hanging", "garbage"])
async def test_replay_and_status_fail_over_from_a_bad_first_provider(
    devnet: Devnet, kind: str
) -> None:
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    env = {"RPC_TIMEOUT": str(TIMEOUT)}
    async with bad_first(kind) as bad:
        urls = f"{bad},{devnet.rpc_url}"
        replay = await asyncio.to_thread(timemachine, "replay", tx, "-r", urls, "--json", env=env)
        status = await asyncio.to_thread(
            timemachine, "chain", "status", "-r", urls, "--json", env=env
        )
    assert replay.returncode == 0, replay.stderr
    result = json.loads(replay.stdout)
    assert result["fidelity"]["verdict"] == "exact"
    assert result["original"]["gas_used"] == result["replayed"]["gas_used"] == 626_377
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    first, second = report["providers"]
    assert "SECRET" not in status.stdout + status.stderr + replay.stderr
    assert first["url"] == bad.split("/SECRET")[0].removesuffix("/v3")
    assert (first["healthy"], first["head"]) == (False, None)
    assert sum(first["errors"].values()) >= 1
    head = int(await rpc(devnet.rpc_url, "eth_blockNumber"), 16)
    assert (second["healthy"], second["head"], second["url"]) == (True, head, devnet.rpc_url)
    assert report["quorum"]["number"] == head
    assert (report["quorum"]["agree"], report["quorum"]["of"]) == (1, 1)
    assert report["chain"] == "devnet"


async def _replay_seconds(devnet: Devnet, urls: str) -> float:
    settings = Settings(rpc_timeout=TIMEOUT, prefetch_state=True)
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    async with TimeMachine(urls, settings=settings) as machine:
        started = time.perf_counter()
        result = await machine.replay(tx)
        elapsed = time.perf_counter() - started
    assert result.fidelity.verdict == "exact"
    return elapsed


@pytest.mark.parametrize("kind", ["dead", "hanging"])
async def test_a_bad_first_provider_adds_less_than_one_request_timeout(
    devnet: Devnet, kind: str
) -> None:
    await _replay_seconds(devnet, devnet.rpc_url)  # warm the machine-wide caches (solc, ABIs)
    baseline = min([await _replay_seconds(devnet, devnet.rpc_url) for _ in range(2)])
    async with bad_first(kind) as bad:
        with_bad = await _replay_seconds(devnet, f"{bad},{devnet.rpc_url}")
    added = with_bad - baseline
    # A dead port costs one refused connection; a hanging one exactly one timeout, then it is
    # benched for the rest of the replay.
    limit = TIMEOUT if kind == "dead" else TIMEOUT + 1.0
    assert added < limit, f"{kind} first provider added {added:.2f}s (baseline {baseline:.2f}s)"
    if kind == "dead":
        assert added < 0.5 * TIMEOUT


async def test_a_429_is_honoured_and_failed_over(devnet: Devnet) -> None:
    limited = RateLimitedProvider(devnet.rpc_url, retry_after=3, limited=1)
    await limited.start()
    try:
        options = PoolOptions(timeout=TIMEOUT)
        async with ProviderPool(f"{limited.url}#weight=50,{devnet.rpc_url}", options) as pool:
            first, second = pool.providers
            started = time.perf_counter()
            assert await pool.call("eth_chainId") == hex(31337)
            assert time.perf_counter() - started < 1.0  # failed over, did not wait
            assert first.health.errors["rate_limited"] == 1
            assert not first.health.benched  # a 429 cools down, it is not a health fault
            assert 2.0 < first.health.cooldown_until - time.monotonic() <= 3.0
            for _ in range(3):  # cooling: the other provider serves, the limited one is spared
                await pool.call("eth_blockNumber")
            assert limited.requests == 1
            assert second.health.requests == 4
            first.health.cooldown_until = 0.0  # Retry-After elapsed: the heavier weight wins
            await pool.call("eth_blockNumber")
            assert limited.requests == 2
    finally:
        await limited.stop()


async def test_a_lone_rate_limited_provider_is_retried_after_its_retry_after(
    devnet: Devnet,
) -> None:
    limited = RateLimitedProvider(devnet.rpc_url, retry_after=1, limited=1)
    await limited.start()
    try:
        async with ProviderPool(f"{limited.url}/only", PoolOptions(timeout=TIMEOUT)) as pool:
            started = time.perf_counter()
            assert await pool.call("eth_chainId") == hex(31337)
            elapsed = time.perf_counter() - started
        assert limited.requests == 2
        assert limited.stamps[1] - limited.stamps[0] >= 0.95  # not before Retry-After
        assert elapsed < 2.0
    finally:
        await limited.stop()


async def test_per_provider_concurrency_and_rate_limits_hold(devnet: Devnet) -> None:
    slow = RateLimitedProvider(devnet.rpc_url, delay=0.5)
    await slow.start()
    try:
        # A timeout well above the queueing (3 rounds of 0.5 s): a retry would count a 7th request.
        options = PoolOptions(timeout=10.0, concurrency=2)
        async with ProviderPool(f"{slow.url}/a", options) as pool:
            await asyncio.gather(*(pool.call("eth_chainId") for _ in range(6)))
        assert (slow.requests, slow.max_in_flight) == (6, 2), slow.stamps
        slow.stamps.clear()
        options = PoolOptions(timeout=TIMEOUT, rate=20.0, burst=1)
        async with ProviderPool(f"{slow.url}/b", options) as pool:
            slow.delay = 0.0
            started = time.perf_counter()
            await asyncio.gather(*(pool.call("eth_chainId") for _ in range(6)))
            elapsed = time.perf_counter() - started
        assert len(slow.stamps) == 6
        # 20/s with no burst: the first goes at once, each of the other five waits 50 ms for its
        # token. Measured at the caller, where load can only add time (arrival stamps at the
        # provider are jittered by the loopback server's scheduling); unlimited, it takes ~10 ms.
        assert elapsed >= 5 * 0.05 * 0.98
    finally:
        await slow.stop()


async def test_every_provider_failing_gives_one_error_naming_each_redacted() -> None:
    async with hanging_provider() as hanging:
        urls = f"{dead_url()},{hanging}"
        async with ProviderPool(urls, PoolOptions(timeout=0.5, rounds=1, backoff=0.01)) as pool:
            with pytest.raises(RpcUnavailableError, match="every provider failed") as caught:
                await pool.call("eth_chainId")
    message = str(caught.value)
    assert "every provider failed eth_chainId" in message
    assert "SECRET" not in message
    assert "timed out" in message
    assert "cannot reach" in message


# --- quorum: three anvils, one on another fork ------------------------------------------------

GENESIS = 1_700_000_000


async def _anvil(binary: Path) -> AnvilProcess:
    return await AnvilProcess.start(binary, ["--silent", "--timestamp", str(GENESIS)])


async def _mine(url: str, *timestamps: int) -> None:
    for stamp in timestamps:
        await rpc(url, "evm_mine", stamp)


@pytest.fixture
async def three_providers(anvil_binary: Path) -> AsyncIterator[list[AnvilProcess]]:
    """Three anvils with one chain up to block 2; the third then mines another block 3."""
    processes = [await _anvil(anvil_binary) for _ in range(3)]
    try:
        for process in processes:
            await _mine(process.url, GENESIS + 12, GENESIS + 24)
        for process in processes[:2]:
            await _mine(process.url, GENESIS + 36, GENESIS + 48)
        await _mine(processes[2].url, GENESIS + 37, GENESIS + 49)  # same parent, other blocks
        yield processes
    finally:
        for process in processes:
            process.stop()


def _hash_at(number: int) -> Callable[[AnvilProcess], Any]:
    async def get(process: AnvilProcess) -> Any:
        return (await rpc(process.url, "eth_getBlockByNumber", hex(number), False))["hash"]

    return get


async def test_quorum_takes_the_majority_hash_and_benches_the_minority_fork(
    three_providers: list[AnvilProcess],
) -> None:
    majority_hash = await _hash_at(3)(three_providers[0])
    fork_hash = await _hash_at(3)(three_providers[2])
    assert majority_hash != fork_hash
    assert await _hash_at(2)(three_providers[0]) == await _hash_at(2)(three_providers[2])
    urls = ",".join(p.url for p in three_providers)
    async with ProviderPool(urls, PoolOptions(timeout=TIMEOUT, bench_base=60.0)) as pool:
        result = await pool.quorum_block(3)  # the default policy, 2/3+1 of the healthy ones
        odd = pool.providers[2]
        assert result.value["hash"] == majority_hash
        assert (result.agree, result.of, result.asked) == (2, 2, 3)
        assert result.dissenters == (odd.label,)
        assert result.said[odd.label] == fork_hash
        assert odd.health.benched
        assert odd.health.bench_reason == "minority fork"
        # The benched provider serves nothing; the head quorum goes on without it.
        for _ in range(3):
            await pool.call("eth_getBlockByNumber", ["0x3", False])
        assert odd.health.requests == 1
        head = await pool.quorum_tag("latest")
        majority_head = await _hash_at(4)(three_providers[0])
        assert (head.value["hash"], head.agree, head.of) == (majority_head, 2, 2)
        # Probing it back: it is trusted again only once it is on the majority's chain.
        assert odd.canonical == (3, majority_hash)
        assert not await pool._probe_once(odd)


async def test_no_quorum_reports_who_said_what(three_providers: list[AnvilProcess]) -> None:
    urls = f"{three_providers[0].url},{three_providers[2].url}"
    async with ProviderPool(urls, PoolOptions(timeout=TIMEOUT)) as pool:
        with pytest.raises(QuorumError) as caught:
            await pool.quorum_block(3, policy="majority")
        assert not any(p.health.benched for p in pool.providers)  # no majority: nobody benched
    message = str(caught.value)
    for process in (three_providers[0], three_providers[2]):
        assert f"{process.url}: {await _hash_at(3)(process)}" in message
    assert "1 of 2 healthy providers agree (need 2)" in message


async def test_chain_status_without_a_quorum_exits_4_saying_who_said_what(
    three_providers: list[AnvilProcess],
) -> None:
    majority, odd = three_providers[0], three_providers[2]
    urls = f"{majority.url},{odd.url}"
    run = await asyncio.to_thread(timemachine, "chain", "status", "-r", urls, "--json")
    assert run.returncode == 4, run.stderr
    report = json.loads(run.stdout)
    assert report["quorum"] is None
    assert [p["head"] for p in report["providers"]] == [4, 4]
    error_lines = run.stderr.strip().splitlines()
    assert len(error_lines) == 1
    assert error_lines[0].startswith("error: no 2/3+1 quorum")
    for process in (majority, odd):
        assert f"{process.url}: {await _hash_at(4)(process)}" in error_lines[0]


async def test_chain_watch_prints_heads_as_json_lines(anvil_binary: Path) -> None:
    process = await AnvilProcess.start(anvil_binary, ["--silent", "--block-time", "1"])
    try:
        ws = f"ws://127.0.0.1:{process.port}"
        run = await asyncio.to_thread(
            timemachine, "chain", "watch", "-r", f"{ws},{process.url}", "--count", "3", "--json"
        )
    finally:
        process.stop()
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert [e["type"] for e in events] == ["head"] * 3
    numbers = [e["number"] for e in events]
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    # anvil reports genesis as finalized; 64 confirmations are not reached yet
    assert [e["final"] for e in events] == [n == 0 for n in numbers]
