"""The embedded devnet: a local anvil on which bundled scenarios build deterministic history."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from timemachine.catalog.devnet import DEVNET_ANVIL_ARGS
from timemachine.catalog.scenarios.history import DevnetHistory, build_history
from timemachine.chain.rpc import RpcClient
from timemachine.forks.locate import locate_binary
from timemachine.forks.manager import install_exit_handlers, track_process
from timemachine.forks.process import AnvilProcess
from timemachine.settings import Settings, get_settings


@dataclass
class Devnet:
    """A running devnet with its history built."""

    process: AnvilProcess
    history: DevnetHistory

    @property
    def rpc_url(self) -> str:
        return self.process.url

    def manifest(self) -> dict[str, Any]:
        """What `timemachine devnet --manifest` writes: where to reach it and what happened."""
        return {
            "rpc_url": self.rpc_url,
            "chain_id": self.history.chain_id,
            "scenarios": [
                {
                    "id": record.id,
                    "title": record.title,
                    "exploit_tx": record.exploit_tx,
                    "block_number": record.block_number,
                    "benign": record.benign,
                }
                for record in self.history.scenarios
            ],
            "busy_block": self.history.busy_block,
            "busy_tx": self.history.busy_tx,
            "labels": self.history.labels,
        }


@contextlib.asynccontextmanager
async def run_devnet(
    *, port: int | None = None, settings: Settings | None = None
) -> AsyncIterator[Devnet]:
    """Start anvil, build the bundled history, then switch automine on for interactive use.

    The process is stopped when the context exits, on every path.
    """
    settings = settings or get_settings()
    install_exit_handlers()
    binary = locate_binary("anvil", settings.anvil_path)
    process = await AnvilProcess.start(
        binary, DEVNET_ANVIL_ARGS, timeout=settings.fork_start_timeout, port=port
    )
    track_process(process)
    try:
        async with RpcClient(process.url, retries=0, timeout=settings.rpc_timeout) as rpc:
            history = await build_history(rpc)
            await rpc.call("evm_setAutomine", [True])
        yield Devnet(process=process, history=history)
    finally:
        process.stop()
