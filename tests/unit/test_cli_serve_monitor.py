"""`timemachine serve` starts a quiet monitor per configured chain (MONITOR_CHAINS) and one for
MONITOR_RPC_URLS; none when neither is set."""

from __future__ import annotations

import sys
from pathlib import Path

from timemachine.cli.serve import monitor_commands
from timemachine.settings import Settings

MONITOR = [sys.executable, "-m", "timemachine.cli.main", "monitor", "--quiet", "--deliver", "queue"]


def test_no_monitor_unless_configured(tmp_path: Path) -> None:
    assert monitor_commands(Settings(data_dir=tmp_path)) == []


def test_one_monitor_per_chain_and_one_for_the_urls(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        monitor_chains="ethereum, base,",
        monitor_rpc_urls=" http://127.0.0.1:8545,ws://127.0.0.1:8545 ",
    )
    assert monitor_commands(settings) == [
        [*MONITOR, "--chain", "ethereum"],
        [*MONITOR, "--chain", "base"],
        [*MONITOR, "--rpc-url", "http://127.0.0.1:8545,ws://127.0.0.1:8545"],
    ]
