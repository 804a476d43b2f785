"""The result of a replay: what ran, how, what happened, and how faithful it was."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from timemachine.models.chain import BlockEnv
from timemachine.models.trace import BalanceChange, CallFrame, LogEntry, StateDiff, TokenTransfer

ReplayMode = Literal["exact", "quick"]
Verdict = Literal["exact", "diverged", "unverified"]


class TokenPrice(BaseModel):
    """A token's pre-transaction price in the chain's wrapped native token (WETH, WBNB, ...).

    The mid price of a Uniswap V2-style pair of the token with the wrapped native token, read
    right before the transaction: `reserve_native` / `reserve_token` (base units of each).
    """

    token: str = Field(description="Checksummed token address.")
    pair: str = Field(description="The pair whose reserves priced it.")
    wrapped_native: str
    reserve_token: int
    reserve_native: int
    found: Literal["trace", "factory"] = Field(
        description="'trace': the transaction called the pair; 'factory': getPair of a factory "
        "of a pair the transaction called."
    )

    def value_of(self, amount: int) -> int:
        """`amount` base units of the token in wei of the native token (rounded toward 0)."""
        magnitude = abs(amount) * self.reserve_native // self.reserve_token
        return magnitude if amount >= 0 else -magnitude


class ReceiptSummary(BaseModel):
    """The parts of a receipt a fidelity check compares."""

    status: int
    gas_used: int
    logs: list[LogEntry] = Field(default_factory=list)
    contract_address: str | None = None


class Difference(BaseModel):
    """One way the replay differs from the original, named precisely."""

    field: str = Field(description="Dotted path, e.g. 'gas_used' or 'logs[3].data'.")
    original: Any
    replayed: Any
    explanation: str


class Fidelity(BaseModel):
    """Replayed receipt vs the original: `exact` only when status, gas and every log agree."""

    verdict: Verdict
    differences: list[Difference] = Field(default_factory=list)
    trace_compared: bool = Field(
        default=False,
        description="Whether the upstream's own call trace was compared frame by frame too.",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="Caveats about the environment that did not cause a difference.",
    )
    backend: str | None = Field(
        default=None, description="The engine that executed the replay (anvil, py-evm)."
    )
    backend_reason: str | None = Field(
        default=None, description="Why that engine is the exact one for this chain and block."
    )


class ReplayResult(BaseModel):
    """Everything one replayed transaction produced."""

    tx_hash: str
    chain_id: int
    chain: str
    block_number: int
    tx_index: int
    hardfork: str
    mode: ReplayMode
    sender: str
    to: str | None
    block_env: BlockEnv
    preceding_txs_replayed: int = Field(description="Earlier txs of the block run first.")
    original: ReceiptSummary | None
    replayed: ReceiptSummary
    fidelity: Fidelity
    trace: CallFrame
    state_diff: StateDiff
    token_transfers: list[TokenTransfer] = Field(default_factory=list)
    balance_changes: list[BalanceChange] = Field(default_factory=list)
    token_prices: list[TokenPrice] = Field(
        default_factory=list,
        description="Pre-tx prices, in the wrapped native token, of the tokens whose balances "
        "changed (those with a V2-style pair found through the trace).",
    )
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per stage.")
    rpc_requests: int = Field(description="JSON-RPC requests Time Machine sent to the upstream.")
