"""Where chunk files live: a local directory (the default) or any fsspec URL (`s3://bucket/prefix`
on S3 or an S3-compatible server: set `AWS_ENDPOINT_URL` and the usual `AWS_*` credentials).

Writes are atomic: on a local filesystem through `atomic.write_atomic` (`layout.ChunkName.parse`
ignores its temp files); on an object store a single PUT is atomic already (the object appears
only once complete).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from timemachine.archive.atomic import TEMP_MARK, write_atomic
from timemachine.errors import StorageError, TimeMachineError


class ArchiveStorage:
    """The chunk files under one location (a directory or an fsspec URL)."""

    def __init__(self, location: str | Path, **options: Any) -> None:
        text = str(location)
        self.location = text
        with storage_errors(text):
            fs, root = fsspec.core.url_to_fs(text, skip_instance_cache=True, **options)
        self.fs: fsspec.AbstractFileSystem = fs
        self.local = isinstance(fs, LocalFileSystem)
        self.root = str(Path(root).resolve()) if self.local else root.rstrip("/")

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def url(self, name: str) -> str:
        """Where the file `name` lives, as the catalog records it."""
        if self.local:
            return self.path(name)
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{protocol}://{self.path(name)}"

    def names(self) -> list[str]:
        """The file names directly under the location (none when it does not exist yet)."""
        with storage_errors(self.location):
            self.fs.invalidate_cache(self.root)
            if not self.fs.exists(self.root):
                return []
            return sorted(entry.rsplit("/", 1)[-1] for entry in self.fs.ls(self.root, detail=False))

    def exists(self, name: str) -> bool:
        with storage_errors(self.location):
            self.fs.invalidate_cache(self.root)
            return bool(self.fs.exists(self.path(name)))

    def read(self, name: str) -> bytes:
        with storage_errors(self.location):
            data: bytes = self.fs.cat_file(self.path(name))
            return data

    def remove(self, name: str) -> None:
        with storage_errors(self.location):
            self.fs.rm_file(self.path(name))

    def write_atomic(self, name: str, data: bytes) -> None:
        """Put `data` under `name` so that readers see all of it or nothing (module doc)."""
        with storage_errors(self.location):
            if not self.local:
                self.fs.pipe_file(self.path(name), data)
                return
            write_atomic(Path(self.root) / name, data)

    def remove_stale_temps(self) -> int:
        """Delete temp files left by killed runs whose process is gone; returns how many."""
        if not self.local:
            return 0
        removed = 0
        for name in self.names():
            owner = _temp_owner(name)
            if owner is not None and not _alive(owner):
                (Path(self.root) / name).unlink(missing_ok=True)
                removed += 1
        return removed


def _temp_owner(name: str) -> int | None:
    if not name.startswith(".") or TEMP_MARK not in name:
        return None
    pid = name.rsplit(TEMP_MARK, 1)[1].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def storage_errors(location: str) -> Iterator[None]:
    """Storage failures (refused credentials, missing bucket, unreachable endpoint, a full disk)
    as one StorageError line naming the location."""
    try:
        yield
    except TimeMachineError:
        raise
    except PermissionError as error:
        raise StorageError(
            f"{location}: access refused ({_first_line(error)}); check the storage credentials "
            "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and permissions"
        ) from None
    except (OSError, ValueError, ImportError) as error:
        raise StorageError(f"{location}: {_first_line(error)}") from None
    except Exception as error:
        if type(error).__module__.startswith(("botocore", "aiobotocore", "s3fs")):
            raise StorageError(f"{location}: {_first_line(error)}") from None
        raise


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]
