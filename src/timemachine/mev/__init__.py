"""MEV inspection over flat traces: trace sources, per-protocol classifier specs, inspectors.

Pure functions over data; no web, worker or database imports (see docs/mev.md).
"""

from __future__ import annotations

from timemachine.mev.inspect import default_classifier, inspect_block
from timemachine.mev.models import BlockInspection, InspectionReport
from timemachine.mev.sources import (
    RpcTraceSource,
    TraceSource,
    block_from_calltracer,
    block_from_json,
    block_from_replays,
    load_block_file,
)

__all__ = [
    "BlockInspection",
    "InspectionReport",
    "RpcTraceSource",
    "TraceSource",
    "block_from_calltracer",
    "block_from_json",
    "block_from_replays",
    "default_classifier",
    "inspect_block",
    "load_block_file",
]
