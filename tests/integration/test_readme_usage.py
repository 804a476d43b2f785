"""Every usage line of the README: each names real commands and options (checked against the CLI
itself), and the fast ones run for real on the devnet with the placeholders filled in."""

from __future__ import annotations

import functools
import json
import re
import shlex
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import typer

from tests.conftest import REPO
from timemachine.cli.main import app
from timemachine.devnet import Devnet, manifest

from .test_cli import timemachine

pytestmark = pytest.mark.integration


def usage_lines() -> list[str]:
    """The `timemachine …` lines of the README's Usage code block, comments cut."""
    text = (REPO / "README.md").read_text()
    block = text.split("## Usage", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith("timemachine ")]


@functools.cache
def _root() -> Any:
    return typer.main.get_command(app)


def _command(words: list[str]) -> tuple[Any, list[str]]:
    """The (sub)command the words name, and the words after it (typer 0.29 vendors its own
    click, so groups are told by their `get_command`)."""
    command: Any = _root()
    rest = words[1:]
    while hasattr(command, "get_command") and rest:
        group_options = {opt: param for param in command.params for opt in param.opts}
        if rest[0] in group_options:  # `timemachine --wide replay …`
            rest = rest[1 if group_options[rest[0]].is_flag else 2 :]
            continue
        sub = command.get_command(typer.Context(command), rest[0])
        if sub is None:
            break
        command, rest = sub, rest[1:]
    return command, rest


def _alternatives(line: str) -> list[list[str]]:
    """`a [--x] | b` style lines as plain word lists (brackets dropped, `|` alternatives split,
    `… | timemachine …` pipelines split into commands)."""
    line = line.replace("[", " ").replace("]", " ").replace("…", " ")
    words = shlex.split(line)
    commands: list[list[str]] = [[]]
    for word in words:
        if word == "|":
            commands.append([])
        else:
            commands[-1].append(word)
    first = commands[0]
    path = first[: len(first) - len(_command(first)[1])]  # `timemachine mev inspect`
    return [first] + [c if c and c[0] == "timemachine" else path + c for c in commands[1:]]


USAGE = usage_lines()
FAST = ("timemachine replay 0xTX", "timemachine analyze 0xTXHASH", "timemachine exploits list")


def test_the_readme_has_usage_lines() -> None:
    assert len(USAGE) >= 30


@pytest.mark.parametrize("line", USAGE)
def test_every_option_of_a_usage_line_exists(line: str) -> None:
    for words in _alternatives(line):
        command, rest = _command(words)
        assert not hasattr(command, "get_command"), f"{line!r}: {words} names no command"
        known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
        used = [w.split("=", 1)[0] for w in rest if re.fullmatch(r"--?[a-zA-Z][\w-]*(=.*)?", w)]
        assert set(used) <= known, f"{line!r}: unknown {set(used) - known}"


def _runnable(devnet: Devnet, tmp_path: Path) -> dict[str, list[str]]:
    """Usage lines run for real, their placeholders filled with devnet values."""
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    others = [s.exploit_tx for s in devnet.history.scenarios[:3]]
    labels = tmp_path / "devnet.json"  # what `timemachine devnet --manifest` writes
    labels.write_text(json.dumps(manifest(devnet)))
    filled = {
        "0xTXHASH": tx,
        "0xTX1": others[0],
        "0xTX2": others[1],
        "0xTX3": others[2],
        "http://127.0.0.1:8545": devnet.rpc_url,
        "report.html": str(tmp_path / "report.html"),
        "devnet.json": str(labels),
    }
    chosen = {}
    for line in USAGE:
        if not line.startswith(FAST) or "--abi" in line:  # --abi: the user's own ABI file
            continue
        words = shlex.split(line)
        chosen[line] = [filled.get(word, word) for word in words[1:]]
    return chosen


def test_the_fast_usage_lines_run_for_real(devnet: Devnet, tmp_path: Path) -> None:
    runnable = _runnable(devnet, tmp_path)
    assert len(runnable) >= 7
    # Its own data directory: `replay --daemon` starts a daemon there, stopped at the end.
    env = {"WEB3_RPC_URL": devnet.rpc_url, "TIME_MACHINE_DATA_DIR": str(tmp_path / "data")}
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:  # each is a process: overlap startup
            done = pool.map(lambda args: timemachine(*args, env=env), runnable.values())
            runs = dict(zip(runnable, done, strict=True))
    finally:
        timemachine("daemon", "stop", env=env)
    for line, run in runs.items():
        assert run.returncode == 0, f"{line!r}: {run.stderr}"
        assert run.stdout.strip(), line
