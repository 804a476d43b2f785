"""ForkManager and AnvilProcess against real anvil processes: start, reuse, caps, TTL, crashes,
port clashes, and no anvil outliving the Python process that started it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from timemachine.chain.rpc import RpcClient
from timemachine.errors import EngineError, ForkLimitError, RpcUnavailableError
from timemachine.forks.manager import REPLAY_ARGS, Fork, ForkManager, ForkSpec
from timemachine.forks.process import AnvilProcess
from timemachine.settings import Settings

pytestmark = pytest.mark.integration

UPSTREAM_BLOCKS = 6
FRESH = ForkSpec(upstream_url=None, extra_args=("--silent",))
ANVIL_CHAIN_ID = "0x7a69"  # 31337
DEV_ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEV_BALANCE = hex(10_000 * 10**18)

MakeManager = Callable[..., ForkManager]


# --- helpers ---------------------------------------------------------------------------------


def pid_gone(pid: int) -> bool:
    """True when `pid` no longer runs (absent, or a zombie nobody has reaped yet)."""
    if Path("/proc/self").exists():
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return True
        return text.rsplit(")", 1)[1].split()[0] in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_gone(pid: int, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if pid_gone(pid):
            return True
        time.sleep(0.02)
    return pid_gone(pid)


def anvil_children() -> set[int]:
    """Running anvil processes whose parent is this test process."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text.rsplit(")", 1)[1].split()[:2]
        if comm == "anvil" and int(ppid) == os.getpid() and state not in ("Z", "X"):
            found.add(int(entry.name))
    return found


async def call(fork: Fork, method: str, *params: object) -> object:
    return await fork.rpc.call(method, params)


async def block_number(fork: Fork) -> int:
    return int(str(await call(fork, "eth_blockNumber")), 16)


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A URL whose port accepts TCP connections but never answers (anvil waits on it forever)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
async def upstream(anvil_binary: Path) -> AsyncIterator[AnvilProcess]:
    """A plain anvil with UPSTREAM_BLOCKS mined blocks, shared by the module (read-only)."""
    process = await AnvilProcess.start(anvil_binary, ["--silent"])
    try:
        async with RpcClient(process.url, retries=0, timeout=10) as rpc:
            await rpc.call("anvil_mine", [UPSTREAM_BLOCKS])
            assert int(await rpc.call("eth_blockNumber"), 16) == UPSTREAM_BLOCKS
        yield process
    finally:
        process.stop()


@pytest.fixture
async def make_manager(anvil_binary: Path) -> AsyncIterator[MakeManager]:
    """ForkManager factory; every manager made is shut down after the test."""
    made: list[ForkManager] = []

    def make(settings: Settings | None = None) -> ForkManager:
        manager = ForkManager(settings=settings or Settings(), binary=anvil_binary)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        await manager.shutdown()


# --- fresh chains and upstream forks ---------------------------------------------------------


async def test_fresh_chain_fork_starts_answers_and_stops(make_manager: MakeManager) -> None:
    manager = make_manager()
    fork = await manager.acquire(FRESH)

    assert fork.process.alive
    assert fork.url == f"http://127.0.0.1:{fork.process.port}"
    assert await call(fork, "eth_chainId") == ANVIL_CHAIN_ID
    assert manager.live() == [fork]

    await manager.release(fork, keep_warm=False)
    assert manager.live() == []
    assert not fork.process.alive
    assert wait_gone(fork.process.pid)


async def test_fresh_chain_is_never_pooled(make_manager: MakeManager) -> None:
    """A chain without upstream cannot be reset to a block, so keep_warm stops it anyway."""
    manager = make_manager()
    fork = await manager.acquire(FRESH)
    await manager.release(fork, keep_warm=True)
    assert manager.live() == []
    assert wait_gone(fork.process.pid)


async def test_fork_at_block_then_warm_reuse_at_another_block(
    make_manager: MakeManager, upstream: AnvilProcess
) -> None:
    manager = make_manager()
    first = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=3))
    pid = first.process.pid
    assert await block_number(first) == 3
    assert await call(first, "eth_chainId") == ANVIL_CHAIN_ID
    await call(first, "anvil_setBalance", DEV_ACCOUNT, "0x1")

    await manager.release(first)  # keep_warm defaults to True
    assert manager.live() == [first]
    assert first.process.alive

    second = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=5))
    assert second.process.pid == pid
    assert second.spec.block_number == 5
    assert await block_number(second) == 5
    assert manager.live() == [second]

    await manager.release(second)
    third = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=3))
    assert third.process.pid == pid
    assert await block_number(third) == 3
    # anvil_reset discarded the local state written on the first use.
    assert await call(third, "eth_getBalance", DEV_ACCOUNT, "latest") == DEV_BALANCE


async def test_pooled_fork_only_reused_for_the_same_start_args(
    make_manager: MakeManager, upstream: AnvilProcess
) -> None:
    manager = make_manager()
    plain = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=2))
    assert plain.spec.start_args() == list(REPLAY_ARGS)
    await manager.release(plain)

    other = await manager.acquire(
        ForkSpec(upstream_url=upstream.url, block_number=2, hardfork="shanghai")
    )
    assert other.process.pid != plain.process.pid
    assert sorted(f.id for f in manager.live()) == sorted([plain.id, other.id])
    assert await block_number(other) == 2


async def test_failed_reset_stops_the_pooled_process(
    make_manager: MakeManager, upstream: AnvilProcess
) -> None:
    """A block the upstream does not have: the pooled process is stopped, not leaked."""
    manager = make_manager()
    fork = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=1))
    await manager.release(fork)

    with pytest.raises(EngineError, match=r"^anvil exited while starting \(exit code 1\)"):
        await manager.acquire(
            ForkSpec(upstream_url=upstream.url, block_number=UPSTREAM_BLOCKS + 50)
        )
    assert manager.live() == []
    assert wait_gone(fork.process.pid)


# --- the global cap --------------------------------------------------------------------------


async def test_cap_refuses_when_every_fork_is_in_use_and_evicts_an_idle_one(
    make_manager: MakeManager, upstream: AnvilProcess
) -> None:
    manager = make_manager(Settings(max_live_forks=2))
    pooled = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=1))
    fresh = await manager.acquire(FRESH)

    with pytest.raises(ForkLimitError) as info:
        await manager.acquire(FRESH)
    assert str(info.value) == (
        "2 forks are live (cap 2); wait for one to finish or raise MAX_LIVE_FORKS"
    )
    assert len(manager.live()) == 2

    await manager.release(pooled)  # idle now, still counted
    assert len(manager.live()) == 2
    third = await manager.acquire(FRESH)

    assert wait_gone(pooled.process.pid)
    assert {f.id for f in manager.live()} == {fresh.id, third.id}
    assert await call(third, "eth_chainId") == ANVIL_CHAIN_ID


# --- TTL ---------------------------------------------------------------------------------------


async def test_reap_expired_stops_forks_past_the_ttl(
    make_manager: MakeManager, upstream: AnvilProcess
) -> None:
    manager = make_manager(Settings(fork_ttl_seconds=60))
    idle = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=1))
    await manager.release(idle)
    busy = await manager.acquire(FRESH)
    idle.last_used, busy.last_used = 1_000.0, 1_100.0

    assert await manager.reap_expired(now=1_060.0) == 0  # exactly the TTL is not past it
    assert await manager.reap_expired(now=1_070.0) == 1
    assert manager.live() == [busy]
    assert wait_gone(idle.process.pid)
    assert busy.process.alive

    # A fork held but untouched for longer than the TTL is treated as abandoned.
    assert await manager.reap_expired(now=1_161.0) == 1
    assert manager.live() == []
    assert wait_gone(busy.process.pid)
    assert await manager.reap_expired(now=10_000.0) == 0


async def test_acquire_reaps_expired_forks_first(
    make_manager: MakeManager, upstream: AnvilProcess
) -> None:
    manager = make_manager(Settings(fork_ttl_seconds=30))
    stale = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=1))
    await manager.release(stale)
    stale.last_used = time.monotonic() - 31

    fork = await manager.acquire(ForkSpec(upstream_url=upstream.url, block_number=1))
    assert fork is not stale
    assert fork.process.pid != stale.process.pid
    assert wait_gone(stale.process.pid)
    assert manager.live() == [fork]


# --- crash detection ---------------------------------------------------------------------------


async def _killed_fork(manager: ForkManager) -> Fork:
    fork = await manager.acquire(FRESH)
    os.kill(fork.process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 3
    while fork.process.alive and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return fork


async def test_check_alive_reports_the_exit_code_of_a_killed_fork(
    make_manager: MakeManager,
) -> None:
    manager = make_manager()
    fork = await _killed_fork(manager)

    assert fork.process.returncode == -signal.SIGKILL
    with pytest.raises(EngineError) as info:
        fork.check_alive()
    assert str(info.value) == "anvil fork crashed (exit code -9): no output"

    await manager.release(fork)  # a dead fork is never pooled
    assert manager.live() == []


async def test_crash_guard_turns_unreachable_into_crashed(make_manager: MakeManager) -> None:
    manager = make_manager()
    fork = await _killed_fork(manager)

    with pytest.raises(EngineError) as info, fork.crash_guard("replaying the block"):
        await call(fork, "eth_chainId")
    assert str(info.value) == "anvil crashed while replaying the block (exit code -9): no output"
    assert isinstance(info.value.__context__, RpcUnavailableError)


async def test_crash_guard_passes_errors_through_while_the_fork_lives(
    make_manager: MakeManager,
) -> None:
    manager = make_manager()
    fork = await manager.acquire(FRESH)
    unreachable = RpcUnavailableError("upstream unreachable")

    with pytest.raises(RpcUnavailableError) as info, fork.crash_guard("tracing"):
        raise unreachable
    assert info.value is unreachable
    with pytest.raises(ValueError, match="other"), fork.crash_guard("tracing"):
        raise ValueError("other")
    fork.check_alive()  # no error


# --- starting processes ------------------------------------------------------------------------


async def test_explicit_port_taken_by_another_anvil(
    anvil_binary: Path, upstream: AnvilProcess
) -> None:
    before = anvil_children()
    started = time.monotonic()
    with pytest.raises(EngineError) as info:
        await AnvilProcess.start(anvil_binary, ["--silent"], port=upstream.port, timeout=5)
    assert time.monotonic() - started < 3
    assert f"port {upstream.port}" in str(info.value)
    assert "already in use" in str(info.value)
    assert anvil_children() == before
    assert upstream.alive


async def test_explicit_port_taken_by_a_plain_socket(anvil_binary: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(EngineError) as info:
            await AnvilProcess.start(anvil_binary, ["--silent"], port=port, timeout=5)
    assert time.monotonic() - started < 3
    assert f"port {port}" in str(info.value)
    assert "already in use" in str(info.value)


async def test_explicit_free_port_is_used(anvil_binary: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = await AnvilProcess.start(anvil_binary, ["--silent"], port=port)
    try:
        assert process.port == port
        assert process.url == f"http://127.0.0.1:{port}"
    finally:
        process.stop()
    assert not process.alive


async def test_start_timeout_stops_the_process(anvil_binary: Path, blackhole: str) -> None:
    before = anvil_children()
    with pytest.raises(EngineError) as info:
        await AnvilProcess.start(anvil_binary, ["--silent", "--fork-url", blackhole], timeout=0.5)
    assert str(info.value).startswith("anvil did not answer on http://127.0.0.1:")
    assert str(info.value).endswith(" within 0.5s")
    assert anvil_children() == before


async def test_cancelled_acquire_leaves_no_anvil(make_manager: MakeManager, blackhole: str) -> None:
    manager = make_manager()
    before = anvil_children()
    task = asyncio.create_task(manager.acquire(ForkSpec(upstream_url=blackhole, block_number=1)))
    deadline = time.monotonic() + 3
    while not anvil_children() - before and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    started = anvil_children() - before
    assert len(started) == 1

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert manager.live() == []
    assert wait_gone(started.pop())


async def test_fork_context_pools_on_success_and_stops_on_error(
    make_manager: MakeManager, upstream: AnvilProcess
) -> None:
    manager = make_manager()
    spec = ForkSpec(upstream_url=upstream.url, block_number=2)
    async with manager.fork(spec) as kept:
        assert await block_number(kept) == 2
    assert manager.live() == [kept]
    assert kept.process.alive

    seen: list[Fork] = []

    async def use_and_fail() -> None:
        async with manager.fork(spec) as fork:
            seen.append(fork)
            assert await block_number(fork) == 2
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await use_and_fail()
    assert seen == [kept]  # the warm process was reused, then stopped because the block failed
    assert manager.live() == []
    assert wait_gone(kept.process.pid)


# --- no anvil outlives its Python ---------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, atexit, os, sys, time
    from pathlib import Path

    pids = []

    def report():  # registered first, so it runs after the manager's own atexit hook
        gone = not Path(f"/proc/{pids[0]}").exists() if pids else False
        print("after-exit", "gone" if gone else "alive", flush=True)

    atexit.register(report)

    from timemachine.forks.manager import ForkManager, ForkSpec
    from timemachine.settings import Settings

    async def main(binary, mode):
        manager = ForkManager(settings=Settings(), binary=Path(binary))
        fork = await manager.acquire(ForkSpec(upstream_url=None, extra_args=("--silent",)))
        pids.append(fork.process.pid)
        print("anvil-pid", fork.process.pid, flush=True)
        if mode == "raise":
            raise RuntimeError("boom")
        if mode in ("sigterm", "sigkill"):
            time.sleep(30)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


@pytest.mark.parametrize(
    ("mode", "returncode"),
    [("exit", 0), ("raise", 1), ("sigterm", -signal.SIGTERM), ("sigkill", -signal.SIGKILL)],
)
def test_no_anvil_outlives_its_python(
    anvil_binary: Path, tmp_path: Path, mode: str, returncode: int
) -> None:
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(anvil_binary), mode],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        assert child.stdout is not None
        pid = 0
        for line in iter(child.stdout.readline, ""):  # structlog may print lines too
            if line.startswith("anvil-pid "):
                pid = int(line.split()[1])
                break
        assert pid, f"the child exited before starting a fork: {stderr_path.read_text()}"
        if mode == "sigterm":
            assert not pid_gone(pid)
            child.send_signal(signal.SIGTERM)
        elif mode == "sigkill":
            assert not pid_gone(pid)
            child.kill()
        child.wait(timeout=10)
        rest = child.stdout.read()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    errors = stderr_path.read_text()

    assert child.returncode == returncode, errors
    assert wait_gone(pid), f"anvil {pid} outlived its Python ({mode})"
    if mode in ("exit", "raise"):
        # The atexit hook stopped (and reaped) anvil before the interpreter finished.
        assert "after-exit gone" in rest.splitlines()
    if mode == "raise":
        assert "RuntimeError: boom" in errors
