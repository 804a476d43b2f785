"""Read and write capsule files: JSON, zstd-compressed when the name ends in .zst.

Reading is defensive: the compressed and decompressed sizes are capped before parsing, and every
problem becomes a CapsuleError naming the file and what is wrong with it.
"""

from __future__ import annotations

from pathlib import Path

import zstandard
from pydantic import ValidationError

from timemachine.errors import CapsuleError
from timemachine.models.capsule import CAPSULE_FORMAT, CAPSULE_VERSIONS, Capsule
from timemachine.untrusted import MAX_JSON_DEPTH, load_json

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_JSON_BYTES = 1024 * 1024 * 1024
MAX_NESTING = MAX_JSON_DEPTH
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_INPUT_STEP = 4096


def dump_capsule(capsule: Capsule, *, compress: bool) -> bytes:
    """The capsule's bytes: canonical JSON, zstd-compressed if asked."""
    data = capsule.model_dump_json(indent=None if compress else 1).encode()
    return zstandard.ZstdCompressor(level=10).compress(data) if compress else data + b"\n"


def load_capsule(data: bytes, *, name: str = "capsule") -> Capsule:
    """Parse and validate capsule bytes (JSON or zstd)."""
    if len(data) > MAX_FILE_BYTES:
        raise CapsuleError(f"{name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    if data.startswith(ZSTD_MAGIC):
        data = _decompress(data, name)
    if len(data) > MAX_JSON_BYTES:
        raise CapsuleError(f"{name} holds more than {MAX_JSON_BYTES // 2**20} MiB of JSON")
    document = load_json(data, what=name, max_depth=MAX_NESTING, error=CapsuleError)
    if not isinstance(document, dict) or document.get("format") != CAPSULE_FORMAT:
        raise CapsuleError(f"{name} is not a Time Machine capsule (no format {CAPSULE_FORMAT!r})")
    version = document.get("version")
    if isinstance(version, bool) or version not in CAPSULE_VERSIONS:
        readable = " and ".join(str(number) for number in CAPSULE_VERSIONS)
        raise CapsuleError(
            f"{name} is capsule version {version!r}; this build reads versions {readable}"
        )
    try:
        return Capsule.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()[:3]
        )
        more = f" (and {error.error_count() - 3} more)" if error.error_count() > 3 else ""
        raise CapsuleError(f"{name} is invalid: {problems}{more}") from error


def read_capsule(path: Path) -> Capsule:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise CapsuleError(f"cannot read capsule {path}: {error.strerror}") from error
    return load_capsule(data, name=str(path))


def write_capsule(capsule: Capsule, path: Path) -> None:
    """Write atomically; `.zst` names are compressed."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_bytes(dump_capsule(capsule, compress=path.suffix == ".zst"))
        temporary.replace(path)
    except OSError as error:
        raise CapsuleError(f"cannot write capsule {path}: {error.strerror}") from error


def _decompress(data: bytes, name: str) -> bytes:
    """Inflate one zstd frame, checking the size as it grows (small input steps bound how much
    one step can inflate) and that the frame is complete."""
    inflater = zstandard.ZstdDecompressor().decompressobj()
    parts: list[bytes] = []
    size = 0
    try:
        for start in range(0, len(data), _INPUT_STEP):
            part = inflater.decompress(data[start : start + _INPUT_STEP])
            size += len(part)
            if size > MAX_JSON_BYTES:
                raise CapsuleError(
                    f"{name} inflates past {MAX_JSON_BYTES // 2**20} MiB; refusing it"
                )
            parts.append(part)
    except zstandard.ZstdError as error:
        raise CapsuleError(f"{name} is not valid zstd (corrupt?): {error}") from error
    if not inflater.eof:
        raise CapsuleError(f"{name} is not valid zstd: the compressed data is truncated")
    return b"".join(parts)
