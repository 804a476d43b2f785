"""Two runs of one transaction side by side: original vs replay, or replay vs what-if."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from timemachine.models.analysis import Names
from timemachine.models.trace import LogEntry

Change = Literal["added", "removed", "changed"]


class ValueDiff(BaseModel):
    """One scalar of both runs (status, gas used, revert reason)."""

    left: int | str | None
    right: int | str | None
    changed: bool


class LogDiff(BaseModel):
    """A log only one run emitted, or one both emitted with other topics or data."""

    change: Change
    left_index: int | None = None
    right_index: int | None = None
    address: str
    event: str | None = Field(default=None, description="Decoded event name, when known.")
    fields: list[str] = Field(default_factory=list, description="What differs: topics[i], data.")
    left: LogEntry | None = None
    right: LogEntry | None = None


class BalanceDiff(BaseModel):
    """One address's net change of one asset in both runs (0 where a run did not move it)."""

    address: str
    asset: str
    symbol: str | None = None
    decimals: int | None = None
    left: int
    right: int
    difference: int = Field(description="right - left.")


class FindingDiff(BaseModel):
    """A vulnerability class one run's analysis reported and the other did not, or at another
    severity."""

    vulnerability_class: str
    change: Change
    left_severity: str | None = None
    right_severity: str | None = None
    title: str


class ProfitDiff(BaseModel):
    """The attacker side's net gain of one asset in both runs, and its worth in wei if priced."""

    asset: str
    left: int
    right: int
    difference: int
    left_eth: int | None = None
    right_eth: int | None = None


class SwapLeg(BaseModel):
    """One Uniswap V2 `Swap` event: what went in, what came out, at what price."""

    log_index: int | None
    amount_in: int
    amount_out: int
    price: float = Field(
        description="Execution price: token_out per token_in, in whole tokens (decimals applied "
        "when known, else base units)."
    )


class SwapDiff(BaseModel):
    """The n-th swap through one pair in both runs: execution prices and PnL in the tokens."""

    pair: str
    token_in: str | None
    token_out: str | None
    symbol_in: str | None = None
    symbol_out: str | None = None
    left: SwapLeg | None
    right: SwapLeg | None
    price_diff_pct: float | None = Field(
        default=None, description="(right price / left price - 1) * 100."
    )
    amount_in_diff: int | None = Field(default=None, description="Sold token: right - left.")
    amount_out_diff: int | None = Field(
        default=None, description="Bought token (PnL difference): right - left."
    )


class Comparison(BaseModel):
    """Everything that differs between two runs. Sides the left run cannot know (an original
    receipt has no balances, findings or profit) are None."""

    left: str = Field(description="What the left run is, e.g. 'original', 'replay'.")
    right: str
    status: ValueDiff
    gas_used: ValueDiff
    gas_difference: int
    revert_reason: ValueDiff
    logs: list[LogDiff] = Field(default_factory=list)
    balances: list[BalanceDiff] | None = None
    findings: list[FindingDiff] | None = None
    profit: list[ProfitDiff] | None = None
    net_gain_eth: ValueDiff | None = None
    swaps: list[SwapDiff] = Field(default_factory=list)
    names: Names = Field(
        default_factory=Names,
        description="Labels and token symbols/decimals of the addresses in both runs.",
    )

    @property
    def identical(self) -> bool:
        """Same status, gas, revert reason, logs, balances, findings and profit."""
        return not (
            self.status.changed
            or self.gas_used.changed
            or self.revert_reason.changed
            or self.logs
            or any(row.difference for row in self.balances or [])
            or self.findings
            or any(row.difference for row in self.profit or [])
        )
