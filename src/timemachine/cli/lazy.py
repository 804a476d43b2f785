"""Commands whose modules load only when they run, so `timemachine --help` imports none of them.

The root group lists a lazy command under its name with the first paragraph of its help kept
beside the registration (a test checks it against the command's own); running the command, or
asking for its `--help`, imports its module and builds it exactly like an eager one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """`target` is "module:attribute", a command function or a `typer.Typer` sub-app; `help` is
    the first paragraph of its help, listed by the root `--help` without importing the module."""

    target: str
    help: str

    def load(self, name: str, markup: Any) -> _click.Command:
        """Import the target and build its click command (help markup as the root's)."""
        module, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module), attribute)
        holder = typer.Typer(rich_markup_mode=markup, add_completion=False)
        if isinstance(found, typer.Typer):
            holder.add_typer(found, name=name)
        else:
            holder.command(name)(found)
        holder.callback()(lambda: None)  # a group even around one command: pick it by name
        return typer.main.get_group(holder).commands[name]


class LazyCommands(MutableMapping[str, _click.Command]):
    """A group's commands: the built ones, then the lazy ones, built on first access by name."""

    def __init__(
        self,
        built: MutableMapping[str, _click.Command],
        lazy: Mapping[str, LazyCommand],
        markup: Any,
    ) -> None:
        self.built = built
        self.lazy = lazy
        self.markup = markup

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self.built and name in self.lazy:
            self.built[name] = self.lazy[name].load(name, self.markup)
        return self.built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        del self.built[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.built
        yield from (name for name in self.lazy if name not in self.built)

    def __len__(self) -> int:
        return len({*self.built, *self.lazy})


class LazyGroup(TyperGroup):
    """A Typer group that also holds `lazy` commands (a subclass sets them)."""

    lazy: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.all_commands = LazyCommands(self.commands, self.lazy, self.rich_markup_mode)
        self.commands = self.all_commands

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """List every command; a lazy one not yet built by its registered help (no import)."""
        limit = formatter.width - 6 - max(len(name) for name in self.all_commands)
        rows = []
        for name in self.all_commands:
            built = self.all_commands.built.get(name)
            if built is None:
                help_text = self.lazy[name].help
                rows.append((name, _click.utils.make_default_short_help(help_text, limit)))
            elif not built.hidden:
                rows.append((name, built.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def hide_flag_types() -> None:
    """Boolean flags take no value: show none in `--help`. Typer 0.29 prints `<bool>` for them
    (its options' type column ignores `is_flag`); this wraps that column once."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "flag_aware", False):
        return

    def display_type_rich(self: TyperOption, ctx: _click.Context) -> str | None:
        return None if self.is_flag and self.metavar is None else shown(self, ctx)

    display_type_rich.flag_aware = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
