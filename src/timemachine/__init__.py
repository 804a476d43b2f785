"""Time Machine: replay historical EVM transactions and exploits on forked state, and explain them.

The curated API:
    replay(tx_hash, rpc_url)           one-shot synchronous replay -> ReplayResult
    analyze(tx_hash, rpc_url)          one-shot replay + detectors -> AnalysisReport
    TimeMachine(rpc_url)               warm async handle: replay, analyze, replay_many, fork, ...
    fork(rpc_url, block)               async context manager giving a live anvil fork
    replay_capsule(path)               offline replay of a capsule file (no network)

Names load lazily so that `timemachine --help` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timemachine.errors import TimeMachineError
    from timemachine.machine import TimeMachine, analyze, fork, replay, replay_capsule
    from timemachine.models import ReplayResult
    from timemachine.models.analysis import AnalysisReport

__all__ = [
    "AnalysisReport",
    "ReplayResult",
    "TimeMachine",
    "TimeMachineError",
    "analyze",
    "fork",
    "replay",
    "replay_capsule",
]
__version__ = "0.1.0"

_LAZY = {
    "AnalysisReport": "timemachine.models.analysis",
    "analyze": "timemachine.machine",
    "ReplayResult": "timemachine.models",
    "TimeMachine": "timemachine.machine",
    "TimeMachineError": "timemachine.errors",
    "fork": "timemachine.machine",
    "replay": "timemachine.machine",
    "replay_capsule": "timemachine.machine",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'timemachine' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
