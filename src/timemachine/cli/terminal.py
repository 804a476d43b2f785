"""The user's terminal width choice, set by the root callback before any command runs (kept
apart from `cli/output.py` so that setting it imports no renderer)."""

from __future__ import annotations

from dataclasses import dataclass

UNBOUNDED = 1_000_000
"""The width of piped or `--wide` output: nothing ever wraps."""


@dataclass
class Terminal:
    """The user's width choice (`--width`, `--wide`), for every console the CLI opens."""

    width: int | None = None
    wide: bool = False

    def width_for(self, stream_is_tty: bool) -> int | None:
        """None: the terminal's own width."""
        if self.width is not None:
            return self.width
        if self.wide or not stream_is_tty:
            return UNBOUNDED
        return None


TERMINAL = Terminal()
