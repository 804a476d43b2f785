"""Time Machine: replay historical EVM transactions and exploits on forked state, and explain them.

The curated API:
    replay(tx_hash, rpc_url)           one-shot synchronous replay -> ReplayResult
    TimeMachine(rpc_url)               warm async handle: replay, replay_many, replay_raw, fork
    fork(rpc_url, block)               async context manager giving a live anvil fork
    replay_capsule(path)               offline replay of a capsule file (no network)

Names load lazily so that `timemachine --help` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timemachine.errors import TimeMachineError
    from timemachine.machine import TimeMachine, fork, replay, replay_capsule
    from timemachine.models import ReplayResult

__all__ = ["ReplayResult", "TimeMachine", "TimeMachineError", "fork", "replay", "replay_capsule"]
__version__ = "0.1.0"

_LAZY = {
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
