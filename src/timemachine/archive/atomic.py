"""Atomic local writes: a chunk is written to a hidden temp file in its directory, flushed to disk
and renamed over its final name (as cryo does), so a killed run never leaves a partial file under
a chunk's name. The temp name carries the writer's pid, so a later run can tell a dead run's
leftovers (`storage.ArchiveStorage.remove_stale_temps`) from a live one's."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

TEMP_MARK = ".tmp-"


def write_atomic(path: Path, data: bytes) -> None:
    """Put `data` at `path` so that readers see all of it or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
