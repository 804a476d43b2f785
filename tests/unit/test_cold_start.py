"""Cold start: `timemachine --help` and `import timemachine` load none of the heavy modules
(measured with `python -X importtime`), and the lazily registered commands' help is true."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import typer
from typer._click.utils import make_default_short_help

from timemachine.cli.entry import print_daemon_replay
from timemachine.cli.main import Commands, app

HEAVY = (
    "asyncio",
    "celery",
    "eth",
    "eth_abi",
    "eth_utils",
    "fastapi",
    "httpx",
    "pydantic",
    "pydantic_settings",
    "rich",
    "sqlalchemy",
    "timemachine.models",
    "timemachine.settings",
    "typer.rich_utils",
    "web3",
)
"""Each costs 20–200 ms to import; together they were most of a 620 ms `--help`."""


def loaded_heavy(code: str) -> list[str]:
    """The HEAVY modules loaded after running `code` in a fresh interpreter."""
    probe = textwrap.dedent(code) + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_heavy_module() -> None:
    code = """
        import contextlib, io, sys
        sys.argv = ["timemachine", "--help"]
        from timemachine.cli.entry import run
        with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:
            run()
        assert "Usage: timemachine" in out.getvalue() and " daemon " in out.getvalue()
        """
    assert loaded_heavy(code) == []


def test_import_timemachine_imports_no_heavy_module() -> None:
    assert loaded_heavy("import timemachine") == []


def test_a_command_loads_what_it_needs() -> None:
    code = """
        import contextlib, io, sys
        sys.argv = ["timemachine", "users", "create", "--help"]
        from timemachine.cli.entry import run
        with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
            run()
        assert "timemachine.cli.users" in sys.modules and "timemachine.cli.mev" not in sys.modules
        """
    assert loaded_heavy(code) == ["pydantic", "timemachine.models"]  # the Role option's enum


@pytest.mark.parametrize("name", sorted(Commands.lazy))
def test_lazy_help_is_the_commands_own(name: str) -> None:
    built = Commands.lazy[name].load(name, None)
    for width in (30, 45, 60, 80, 120, 200):
        assert make_default_short_help(Commands.lazy[name].help, width) == (
            built.get_short_help_str(width)
        )


def test_root_help_lists_every_command_as_when_all_are_built() -> None:
    group = typer.main.get_group(app)
    context = group.make_context("timemachine", [], resilient_parsing=True)
    lazy_help = group.get_help(context)
    for name in list(group.commands):
        group.commands[name]  # builds the lazy command
    assert set(Commands.lazy) <= set(group.all_commands.built)  # type: ignore[attr-defined]
    assert group.get_help(context) == lazy_help
    assert all(f"\n  {name} " in lazy_help for name in group.commands)


@pytest.mark.parametrize(
    "arguments",
    [
        ["0x" + "ab" * 32, "-r", "http://127.0.0.1:1"],  # text output: rendered by the CLI
        ["0x" + "ab" * 32, "-r", "http://127.0.0.1:1", "--json", "--depth", "1"],
        ["0x" + "ab" * 32, "--json", "--no-daemon", "-r", "http://127.0.0.1:1"],
        ["0x02f8", "--json", "-r", "http://127.0.0.1:1"],  # a raw tx
        ["0x" + "ab" * 32, "--json", "-r", "http://127.0.0.1:1"],  # no daemon runs here
    ],
)
def test_the_console_script_leaves_other_replays_to_the_cli(
    arguments: list[str], tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIME_MACHINE_DATA_DIR", str(tmp_path))
    assert print_daemon_replay(arguments) is False
