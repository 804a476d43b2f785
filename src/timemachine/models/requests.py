"""Request bodies of the service (kept compatible with the original spec's examples)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from timemachine.models.replay import ReplayMode

MAX_TRANSACTIONS = 100
"""Transactions one replay request may carry."""


class ReplayOptions(BaseModel):
    """How to replay: `include_analysis` runs the detectors on every replayed tx;
    `detailed_tracing` keeps the full call tree and state diff in the stored result."""

    model_config = ConfigDict(extra="forbid")

    include_analysis: bool = True
    detailed_tracing: bool = True
    mode: ReplayMode = "exact"


class ExploitReplayRequest(BaseModel):
    """`POST /api/time-machine/replay/exploit/start`."""

    model_config = ConfigDict(extra="forbid")

    exploit_id: str = Field(min_length=1, max_length=200, examples=["reentrancy-bank"])
    user_id: str | None = Field(
        default=None, max_length=200, description="Who owns the session (default: anonymous)."
    )
    options: ReplayOptions = Field(default_factory=ReplayOptions)


class TransactionRef(BaseModel):
    """One transaction to replay: its hash, optionally its block and chain."""

    model_config = ConfigDict(extra="forbid")

    hash: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    block_number: int | None = Field(default=None, ge=0)
    chain_id: int | None = Field(
        default=None, gt=0, description="Default: the embedded devnet (31337)."
    )

    @field_validator("hash")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class TransactionsReplayRequest(BaseModel):
    """`POST /api/time-machine/replay/transactions/start`."""

    model_config = ConfigDict(extra="forbid")

    transactions: list[TransactionRef] = Field(min_length=1, max_length=MAX_TRANSACTIONS)
    user_id: str | None = Field(default=None, max_length=200)
    options: ReplayOptions = Field(default_factory=ReplayOptions)


class ExploitAnalysisRequest(BaseModel):
    """`POST /api/time-machine/exploits/{exploit_id}/analyze`."""

    model_config = ConfigDict(extra="forbid")

    analysis_depth: Literal["basic", "standard", "deep"] = Field(
        default="standard",
        description="basic: findings and profit; standard: + fund flow and balance changes; "
        "deep: + the full replay (call tree, state diff).",
    )
    include_recommendations: bool = True
    user_id: str | None = Field(default=None, max_length=200)
