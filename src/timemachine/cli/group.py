"""Sub-command groups are made one way: `timemachine GROUP` alone prints the group's help."""

from __future__ import annotations

import typer


def command_group(help: str) -> typer.Typer:
    """A group of sub-commands with this help, listing them when run without one."""
    return typer.Typer(help=help, no_args_is_help=True)
