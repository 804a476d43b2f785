"""`timemachine serve` with MONITOR_RPC_URLS runs a mempool monitor as one of its children: the
pending transactions of the configured chain reach the service's store, and the monitor (with the
workers) is gone once serve is stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.monitor_support import scenario_of_class
from tests.integration.service_support import command_of, descendants
from tests.integration.test_monitor_devnet import ETHER
from timemachine.catalog.devnet import actor_account, actor_address
from timemachine.devnet import Devnet
from timemachine.forks.manager import ForkManager
from timemachine.monitor.setup import PAUSED_CHAIN_ARGS, both_transports
from timemachine.monitor.traffic import Traffic
from timemachine.ports import ForkSpec
from timemachine.store import MonitoredTxs, open_database

pytestmark = pytest.mark.integration

WAIT = 90.0


def monitors(pid: int) -> set[int]:
    return {p for p in descendants(pid) if "monitor --quiet" in command_of(p)}


async def test_serve_runs_the_configured_monitor_and_stops_it(
    devnet: Devnet, anvil_binary: Path, tmp_path: Path
) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    forks = ForkManager()
    spec = ForkSpec(devnet.rpc_url, before.block_number - 1, extra_args=PAUSED_CHAIN_ARGS)
    live = await forks.acquire(spec)
    keep = {"DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL"}
    env = {name: value for name, value in os.environ.items() if name not in keep} | {
        "TIME_MACHINE_DATA_DIR": str(tmp_path),
        "ANVIL_PATH": str(anvil_binary),
        "LOG_LEVEL": "WARNING",
        "MONITOR_RPC_URLS": both_transports(live.url),
        "MONITOR_SIMULATE": "none",
    }
    command = [sys.executable, "-m", "timemachine.cli.main", "serve", "--workers-only"]
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [*command, "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    database = open_database(f"sqlite:///{tmp_path / 'timemachine.db'}")
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT

        def still_waiting(what: str) -> None:
            assert serve.poll() is None, f"serve exited, see {tmp_path / 'serve.log'}"
            assert loop.time() < deadline, f"timed out waiting for {what}"

        while not monitors(serve.pid):
            still_waiting("the monitor child")
            await asyncio.sleep(0.2)
        (monitor,) = monitors(serve.pid)
        traffic = Traffic(live.rpc, int(await live.rpc.call("eth_chainId"), 16))

        def stored(tx_hash: str) -> dict[str, Any] | None:
            with database.session() as session:
                return MonitoredTxs(session).get("chain", tx_hash)  # unnamed: by URL

        sent: list[str] = []
        # the monitor subscribes some time after it started: send until one is stored
        while not any(stored(h) for h in sent):
            still_waiting("a stored transaction")
            sent.append(await traffic.transfer(actor_account("alice"), actor_address("bob"), ETHER))
            await asyncio.sleep(1.0)
        row = next(r for h in sent if (r := stored(h)) is not None)
        serve.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(serve.wait, WAIT) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(WAIT)
        log.close()
        database.dispose()
        await forks.release(live, keep_warm=False)
        await forks.shutdown()
    assert "monitor" not in command_of(monitor)  # gone with serve
    assert (row["status"], row["enrichment"]["kind"]) == ("pending", "transfer")
    assert row["tx"]["sender"] == actor_address("alice").lower()
