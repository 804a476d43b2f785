"""The `timemachine` console script: a replay a running daemon answers as JSON is printed
before the CLI framework loads; everything else runs the CLI (`cli.main`)."""

from __future__ import annotations

import os
import sys

from timemachine.cli.errors import INTERNAL_ERROR, fail
from timemachine.orchestration.daemon_link import (
    DaemonLink,
    DaemonUnreachable,
    ReplayRequest,
    default_data_dir,
)

FAST_FLAGS = {"--json": "as_json", "--quick": "quick", "--daemon": "daemon"}
"""The only flags a `replay` may carry for `print_daemon_replay` to answer it."""


def run() -> None:
    """Console-script entry point."""
    arguments = sys.argv[1:]
    if arguments[:1] == ["replay"] and print_daemon_replay(arguments[1:]):
        return
    from timemachine.cli.main import run as run_cli

    run_cli()


FAST_FLAGS = {"--json": "as_json", "--quick": "quick", "--daemon": "daemon"}
"""The only flags a `replay` may carry for `print_daemon_replay` to answer it."""


def print_daemon_replay(arguments: list[str]) -> bool:
    """Answer `timemachine replay HASH… [-r URL] [--quick] [--json] [--daemon]` from a running
    daemon without building the CLI, and say whether it did. Typer coerces every option value
    through pydantic (~200 ms of imports), which is most of a warm replay's cost; anything else
    (text output, other options, no daemon running) is left to the `replay` command itself."""
    flags: set[str] = set()
    hashes: list[str] = []
    rpc_url = os.environ.get("WEB3_RPC_URL")
    rest = iter(arguments)
    for argument in rest:
        if argument in ("-r", "--rpc-url"):
            rpc_url = next(rest, None)
        elif argument.startswith("--rpc-url="):
            rpc_url = argument.partition("=")[2]
        elif argument in FAST_FLAGS:
            flags.add(FAST_FLAGS[argument])
        elif len(argument) == 66 and argument.startswith("0x"):
            hashes.append(argument)
        else:
            return False
    if "as_json" not in flags or not hashes or rpc_url is None:
        return False
    link = DaemonLink.read(default_data_dir(os.environ))
    if link is None:
        return False
    request = ReplayRequest(hashes, rpc_url, quick="quick" in flags)
    try:
        answer = link.ask_replay(request)
    except DaemonUnreachable:
        return False
    if not answer.ok:
        fail(answer.error, INTERNAL_ERROR if answer.internal else answer.exit_code)
    sys.stdout.write(answer.body.decode() + "\n")
    return True


if __name__ == "__main__":
    run()
