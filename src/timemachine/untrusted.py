"""Reading untrusted input: bounded JSON, NUL and non-finite number checks, the recursion cap.

Every parser of user content goes through here, so the limits are the same everywhere and are
enforced before a recursive parser runs:

- JSON nesting is measured by a scan that never recurses (strings stripped by a regex, then the
  brackets counted); only documents within the depth limit reach `json.loads`.
- `NaN`, `Infinity` and `-Infinity` are not JSON (RFC 8259), and no column or JSON payload can
  store them: they are refused, as is the NUL character, which PostgreSQL text cannot hold.
- Two dependencies raise the interpreter's recursion limit at import: py-evm (`eth`) to 12,288
  and `py_ecc` to 100,000. At 100,000, a C-recursive parser (the stdlib `json` scanner) runs past
  the C stack and the process dies with SIGSEGV instead of raising RecursionError.
  `cap_recursion_limit` imports both (so their import-time change has happened) and lowers the
  limit to `SERVICE_RECURSION_LIMIT` for the API process, which runs no EVM.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import sys
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from timemachine.errors import InvalidInputError

MAX_JSON_DEPTH = 64
"""Nesting limit for JSON documents of user content (imports, ABIs, fixtures, capsules)."""
MAX_SOLIDITY_BYTES = 500_000
"""The largest Solidity source accepted (a patch's `source_text`, a `--patch` file)."""
SERVICE_RECURSION_LIMIT = 8192
"""Deep enough for a 1,024-frame call tree through recursive encoders; shallow enough that the
stdlib's C-recursive parsers raise RecursionError long before the C stack (8 MiB) runs out."""
RAISING_MODULES = ("eth", "py_ecc")
"""Dependencies that raise the recursion limit when first imported."""

NUL_MESSAGE = "holds the NUL character (\\u0000), which no text may contain"
NON_FINITE_MESSAGE = "holds NaN or Infinity, which are not JSON numbers (send a finite number)"


# A string, or an unterminated one up to the end (what the parser would read as a string).
_STRING = re.compile(r'"[^"\\]*(?:\\.?[^"\\]*)*(?:"|\Z)', re.DOTALL)
_STRING_BYTES = re.compile(rb'"[^"\\]*(?:\\.?[^"\\]*)*(?:"|\Z)', re.DOTALL)
_BRACKETS = re.compile(r"[^\[\]{}]+")
_BRACKETS_BYTES = re.compile(rb"[^\[\]{}]+")
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_NUL_ESCAPE_BYTES = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_NON_FINITE = re.compile(r"[NI]")  # outside strings, only NaN / Infinity hold these letters
_NON_FINITE_BYTES = re.compile(rb"[NI]")


def _skeleton(document: str | bytes) -> str | bytes:
    """`document` without its strings (an unterminated one runs to the end: the parser reads
    it as a string too, and rejects it)."""
    if isinstance(document, bytes):
        return _STRING_BYTES.sub(b"", document)
    return _STRING.sub("", document)


def _depth(skeleton: str | bytes) -> int:
    if isinstance(skeleton, bytes):
        brackets = _BRACKETS_BYTES.sub(b"", skeleton).decode("ascii")
    else:
        brackets = _BRACKETS.sub("", skeleton)
    return max(accumulate((1 if c in "[{" else -1 for c in brackets), initial=0))


def _has_nul(document: str | bytes) -> bool:
    if isinstance(document, bytes):
        return b"\x00" in document or (
            b"\\u0000" in document and _NUL_ESCAPE_BYTES.search(document) is not None
        )
    return "\x00" in document or (
        "\\u0000" in document and _NUL_ESCAPE.search(document) is not None
    )


def _non_finite(skeleton: str | bytes) -> bool:
    if isinstance(skeleton, bytes):
        return _NON_FINITE_BYTES.search(skeleton) is not None
    return _NON_FINITE.search(skeleton) is not None


def json_depth(document: str | bytes) -> int:
    """How deep arrays and objects nest in `document`, brackets inside strings ignored.

    Not a validator: malformed JSON is left for the parser to reject. Never recurses."""
    return _depth(_skeleton(document))


def json_depth_exceeds(document: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `document` nests arrays/objects deeper than `limit`."""
    return json_depth(document) > limit


@dataclass(frozen=True)
class JsonScan:
    """What one non-recursive pass over a JSON text found (before any parser runs)."""

    depth: int
    nul: bool
    non_finite: bool

    def problem(self, *, max_depth: int = MAX_JSON_DEPTH, finite: bool = True) -> str | None:
        """Why the text is refused (a phrase to follow its name), or None."""
        if self.depth > max_depth:
            return f"nests JSON deeper than {max_depth} levels"
        if self.nul:
            return NUL_MESSAGE
        if finite and self.non_finite:
            return NON_FINITE_MESSAGE
        return None


def scan_json(document: str | bytes) -> JsonScan:
    """Nesting depth, NUL characters (raw or as the `\\u0000` escape, which no text column can
    hold) and non-finite numbers (`NaN`, `Infinity`: not JSON, and not storable) of `document`.

    Bytes are read the way `json.loads` reads them: UTF-16 and UTF-32 are decoded first (their
    code units can hold a quote or backslash byte that is not one, which would desynchronise a
    byte scan from the parser); UTF-8 is scanned as is (its multi-byte sequences hold no ASCII)."""
    if isinstance(document, bytes):
        encoding = json.detect_encoding(document)
        if encoding != "utf-8":
            try:
                document = document.decode(encoding, "surrogatepass")
            except UnicodeDecodeError:
                return JsonScan(depth=0, nul=False, non_finite=False)  # the parser fails too
    skeleton = _skeleton(document)
    return JsonScan(
        depth=_depth(skeleton), nul=_has_nul(document), non_finite=_non_finite(skeleton)
    )


def json_problem(
    document: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, finite: bool = True
) -> str | None:
    """Why the JSON text `document` is refused before parsing (a phrase to follow its name),
    or None: see `JsonScan`."""
    return scan_json(document).problem(max_depth=max_depth, finite=finite)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: valid JSON, but no float holds it
        raise ValueError(f"{text[:40]} is too large for a number")
    return value


def load_json(
    document: str | bytes,
    *,
    what: str,
    max_depth: int = MAX_JSON_DEPTH,
    error: type[InvalidInputError] = InvalidInputError,
    finite: bool = True,
) -> Any:
    """Parse untrusted JSON: nesting over `max_depth`, NUL, NaN/Infinity (unless `finite` is
    False: the caller checks the values itself) and malformed text raise `error` naming `what`."""
    problem = json_problem(document, max_depth=max_depth, finite=finite)
    if problem is not None:
        raise error(f"{what} {problem}")
    try:
        if not finite:
            return json.loads(document)
        return json.loads(document, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise error(f"{what} is not valid JSON: {exc}") from None


def refuse_nul(text: str, *, what: str) -> str:
    """`text`, or InvalidInputError if it holds a NUL character."""
    if "\x00" in text:
        raise InvalidInputError(f"{what} {NUL_MESSAGE}")
    return text


def cap_recursion_limit(limit: int = SERVICE_RECURSION_LIMIT) -> int:
    """Import the dependencies that raise the recursion limit, then lower it to `limit` (never
    raise it). Returns the limit before, to restore when the service stops."""
    for name in RAISING_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - both are dependencies of the engine
            continue
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(min(before, limit))
    return before
