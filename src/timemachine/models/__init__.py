"""Pydantic schemas shared by the engine, renderers and (later) the API, tasks and storage."""

from timemachine.models.chain import BlockEnv, TransactionInfo
from timemachine.models.replay import (
    Difference,
    Fidelity,
    ReceiptSummary,
    ReplayMode,
    ReplayResult,
    Verdict,
)
from timemachine.models.trace import (
    AccountState,
    BalanceChange,
    CallFrame,
    DecodedArg,
    DecodedCall,
    DecodedEvent,
    LogEntry,
    StateDiff,
    TokenTransfer,
)

__all__ = [
    "AccountState",
    "BalanceChange",
    "BlockEnv",
    "CallFrame",
    "DecodedArg",
    "DecodedCall",
    "DecodedEvent",
    "Difference",
    "Fidelity",
    "LogEntry",
    "ReceiptSummary",
    "ReplayMode",
    "ReplayResult",
    "StateDiff",
    "TokenTransfer",
    "TransactionInfo",
    "Verdict",
]
