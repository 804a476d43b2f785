"""How a CLI process finds and talks to the replay daemon (`timemachine daemon`), with the
standard library only: a command that is answered by the daemon imports nothing heavy.

The daemon listens on a loopback port and writes `daemon.json` (port, token, pid; mode 0600) in
the data directory. A request is one JSON line carrying that token; the answer is one JSON header
line (`{"ok": true}` or `{"ok": false, "error", "exit_code"}`), then the body (a replay's JSON).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LINK_FILE = "daemon.json"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """The data directory `Settings` resolves without a `.env` file: TIME_MACHINE_DATA_DIR, else
    $XDG_DATA_HOME/timemachine, else ~/.local/share/timemachine (a test keeps them equal)."""
    explicit = environ.get("TIME_MACHINE_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = environ.get("XDG_DATA_HOME")
    return (Path(base) if base else Path.home() / ".local" / "share") / "timemachine"


@dataclass(frozen=True)
class ReplayRequest:
    """What `timemachine replay` asks for (the daemon resolves a missing `rpc_url` from the
    environment it was started with)."""

    targets: list[str]
    rpc_url: str | None = None
    quick: bool = False
    block: int | None = None
    compare_trace: bool = False


@dataclass(frozen=True)
class Answer:
    ok: bool
    body: bytes = b""
    error: str = ""
    exit_code: int = 0
    internal: bool = False
    """An unexpected error (the CLI reports it as its own internal errors)."""


class DaemonUnreachable(OSError):
    """No daemon answers at the address its link file names (stopped, crashed, or stale)."""


@dataclass(frozen=True)
class DaemonLink:
    """Where one running daemon listens, and the token it accepts."""

    port: int
    token: str
    pid: int
    host: str = "127.0.0.1"

    @classmethod
    def read(cls, data_dir: Path) -> DaemonLink | None:
        """The link file in `data_dir`, or None when there is none (or it is unreadable)."""
        try:
            fields = json.loads((data_dir / LINK_FILE).read_text())
            return cls(int(fields["port"]), str(fields["token"]), int(fields["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, data_dir: Path) -> None:
        """Write the link file readable by this user only (created 0600, then moved in place)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        staging = data_dir / f".{LINK_FILE}.{os.getpid()}"
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(asdict(self), file)
        staging.replace(data_dir / LINK_FILE)

    def remove(self, data_dir: Path) -> None:
        """Remove the link file if it is still this daemon's."""
        if DaemonLink.read(data_dir) == self:
            with contextlib.suppress(FileNotFoundError):
                (data_dir / LINK_FILE).unlink()

    def ask(self, command: str, payload: Mapping[str, Any] | None = None) -> Answer:
        """Send one request and wait for the whole answer (replays take as long as they take)."""
        request = {"token": self.token, "command": command, **(payload or {})}
        try:
            with socket.create_connection((self.host, self.port), timeout=5) as connection:
                connection.settimeout(None)
                connection.sendall(json.dumps(request).encode() + b"\n")
                with connection.makefile("rb") as stream:
                    header = json.loads(stream.readline() or b"null")
                    body = stream.read()
        except (OSError, ValueError) as error:
            raise DaemonUnreachable(f"no daemon answers on port {self.port}: {error}") from error
        if not isinstance(header, dict):
            raise DaemonUnreachable(f"the process on port {self.port} closed without answering")
        return Answer(
            ok=bool(header.get("ok")),
            body=body,
            error=str(header.get("error", "")),
            exit_code=int(header.get("exit_code", 0)),
            internal=bool(header.get("internal")),
        )

    def ask_replay(self, request: ReplayRequest) -> Answer:
        return self.ask("replay", asdict(request))
