"""`timemachine devnet`: run the embedded devnet in the foreground until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path

from timemachine.cli.output import terminal_console
from timemachine.devnet import manifest, run_devnet


def write_manifest(path: Path, manifest: dict[str, object]) -> None:
    """Write atomically, so a reader polling for the file never sees half of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(manifest, indent=2) + "\n")
    temporary.replace(path)


async def serve_devnet(port: int | None, manifest_path: Path | None) -> None:
    console = terminal_console(stderr=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        with console.status("building devnet history…"):
            net = await stack.enter_async_context(run_devnet(port=port))
        if manifest_path is not None:
            write_manifest(manifest_path, manifest(net))
            stack.callback(_remove, manifest_path)
        console.print(
            f"[green]devnet ready[/] at {net.rpc_url} (chain {net.history.chain_id}), "
            f"{net.history.transactions} transactions, "
            f"{len(net.history.scenarios)} exploit scenario(s). Ctrl-C to stop."
        )
        for record in net.history.scenarios:
            kind = "benign control" if record.benign else "exploit"
            console.print(
                f"  {record.id}: {kind} {record.exploit_tx} (block {record.block_number})"
            )
        await stop.wait()


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
