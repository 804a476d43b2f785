"""Call tree vs call tree: the upstream node's own trace of the original against the replay's.

Receipts only show the outside of a transaction; comparing every frame (type, addresses, value,
gas, input, output, error) proves the inside matched too, and points at the first frame that
did not.
"""

from __future__ import annotations

import hashlib
import json

from timemachine.models import CallFrame, Difference
from timemachine.replay.fidelity import mismatch

COMPARED_FIELDS = ("type", "from_", "to", "value", "gas", "gas_used", "input", "output", "error")
MAX_DIFFERENCES = 25


def frame_path(path: tuple[int, ...]) -> str:
    """`trace` for the root, `trace.calls[1].calls[0]` for deeper frames."""
    return "trace" + "".join(f".calls[{index}]" for index in path)


def compare_traces(original: CallFrame, replayed: CallFrame) -> list[Difference]:
    """Differences frame by frame, in execution order, at most MAX_DIFFERENCES of them."""
    before = list(original.walk())
    after = list(replayed.walk())
    differences = mismatch(
        "trace.frames",
        len(before),
        len(after),
        f"the original made {len(before)} calls, the replay {len(after)}",
    )
    for (path, old), (_, new) in zip(before, after, strict=False):
        for name in COMPARED_FIELDS:
            if name == "gas" and not path:
                continue  # the root's gas is the tx gas limit on both sides by construction
            label = name.rstrip("_")
            differences += mismatch(
                f"{frame_path(path)}.{label}",
                getattr(old, name),
                getattr(new, name),
                f"call frame {frame_path(path)} has a different {label}",
            )
        if len(differences) >= MAX_DIFFERENCES:
            differences.append(
                Difference(
                    field="trace",
                    original=None,
                    replayed=None,
                    explanation=f"stopped after {MAX_DIFFERENCES} differences",
                )
            )
            break
    return differences


def trace_digest(root: CallFrame) -> str:
    """sha256 over the engine facts of every frame (not decoding, which depends on known ABIs)."""
    facts = [
        [list(path), *(_fact(getattr(frame, name)) for name in COMPARED_FIELDS)]
        for path, frame in root.walk()
    ]
    return "0x" + hashlib.sha256(json.dumps(facts, separators=(",", ":")).encode()).hexdigest()


def _fact(value: object) -> object:
    return value.lower() if isinstance(value, str) else value
