"""Find Foundry binaries: explicit setting, then PATH, then node_modules/.bin of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

from timemachine.errors import EngineNotFoundError


def _node_bin_dirs() -> list[Path]:
    """node_modules/.bin in the working directory, its parents, and the source checkout."""
    starts = [Path.cwd(), Path(__file__).resolve()]
    seen: list[Path] = []
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / "node_modules" / ".bin"
            if candidate.is_dir() and candidate not in seen:
                seen.append(candidate)
    return seen


def locate_binary(name: str, explicit: Path | None = None) -> Path:
    """The path of Foundry's `name` (anvil or cast), or EngineNotFoundError saying how to get it."""
    if explicit is not None:
        if explicit.is_file():
            return explicit
        raise EngineNotFoundError(f"{name} not found at {explicit} (set by ANVIL_PATH)")
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    for folder in _node_bin_dirs():
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise EngineNotFoundError(
        f"{name} not found on PATH or in node_modules/.bin; run `make setup` (npm install) "
        "or install Foundry"
    )
