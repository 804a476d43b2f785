"""A local chain process: anvil started with the caller's arguments, its history built by the
caller's builder, then automine switched on for interactive use.

It knows nothing of what the history holds: the embedded devnet with the bundled scenarios
(`timemachine.devnet`) passes its anvil arguments and its builder in.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from timemachine.chain.rpc import RpcClient
from timemachine.forks.locate import locate_binary
from timemachine.forks.manager import install_exit_handlers, track_process
from timemachine.forks.process import AnvilProcess
from timemachine.settings import ForkSettings

H = TypeVar("H")


@dataclass
class LocalChain(Generic[H]):
    """A running local chain with its history built."""

    process: AnvilProcess
    history: H

    @property
    def rpc_url(self) -> str:
        return self.process.url


@contextlib.asynccontextmanager
async def run_local_chain(
    args: Sequence[str],
    build: Callable[[RpcClient], Awaitable[H]],
    *,
    port: int | None = None,
    settings: ForkSettings | None = None,
) -> AsyncIterator[LocalChain[H]]:
    """Start anvil with `args`, build the history with `build`, then switch automine on.

    The process is stopped when the context exits, on every path.
    """
    settings = settings or ForkSettings()
    install_exit_handlers()
    binary = locate_binary("anvil", settings.anvil_path)
    process = await AnvilProcess.start(binary, args, timeout=settings.fork_start_timeout, port=port)
    track_process(process)
    try:
        async with RpcClient(process.url, retries=0, timeout=settings.rpc_timeout) as rpc:
            history = await build(rpc)
            await rpc.call("evm_setAutomine", [True])
        yield LocalChain(process=process, history=history)
    finally:
        process.stop()
