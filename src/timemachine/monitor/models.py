"""The monitor's records: a pending transaction as seen, what enrichment and simulation added, and
where it is in its lifecycle. Pydantic, so the bus, the store and the API share one schema."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from timemachine.models.analysis import Finding
from timemachine.models.trace import BalanceChange, DecodedCall, TokenTransfer

TxKind = Literal[
    "transfer",
    "approve",
    "swap",
    "add_liquidity",
    "remove_liquidity",
    "flash_loan",
    "contract_creation",
    "bridge",
    "other",
]
TX_KINDS: tuple[str, ...] = get_args(TxKind)
TxStatus = Literal["pending", "included", "replaced", "dropped"]
TX_STATUSES: tuple[str, ...] = get_args(TxStatus)
Replacement = Literal["speed_up", "cancel", "other"]


class PendingTx(BaseModel):
    """A transaction as the mempool showed it, normalized (addresses lower-case, ints)."""

    model_config = ConfigDict(frozen=True)

    chain: str
    hash: str
    sender: str
    to: str | None
    nonce: int
    value: int
    gas: int
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    type: int = 0
    input: str = "0x"
    raw: dict[str, Any] = Field(
        default_factory=dict, exclude=True, description="The node's object (for simulation)."
    )

    def rpc_object(self) -> dict[str, Any]:
        """The node's object: as received, or rebuilt from the fields (an event off the bus
        carries no `raw`), with what a simulation sends."""
        if self.raw:
            return self.raw
        fees = {
            "gasPrice": self.gas_price,
            "maxFeePerGas": self.max_fee_per_gas,
            "maxPriorityFeePerGas": self.max_priority_fee_per_gas,
        }
        numbers = {"nonce": self.nonce, "value": self.value, "gas": self.gas, "type": self.type}
        return {
            "hash": self.hash,
            "from": self.sender,
            "to": self.to,
            "input": self.input,
            **{key: hex(value) for key, value in (numbers | fees).items() if value is not None},
        }

    @property
    def fee_cap(self) -> int:
        """What the sender pays per gas at most."""
        return self.max_fee_per_gas or self.gas_price or 0

    @property
    def tip(self) -> int:
        return self.max_priority_fee_per_gas or self.gas_price or 0

    @property
    def selector(self) -> str | None:
        return self.input[:10] if len(self.input) >= 10 else None


class TokenAmount(BaseModel):
    """An amount the calldata names: what the call moves, allows or asks for."""

    token: str = Field(description='Token contract (lower-case) or "ETH".')
    amount: int
    role: Literal["sent", "min_received", "max_sent", "received", "allowance", "borrowed"]


class Enrichment(BaseModel):
    """What the calldata and the address book say about a transaction."""

    kind: TxKind
    selector: str | None = None
    call: DecodedCall | None = None
    unknown_selector: bool = Field(
        default=False, description="Calldata with a selector no bundled ABI or signature knows."
    )
    token_amounts: list[TokenAmount] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict, description="Known address → label.")
    watched: list[str] = Field(
        default_factory=list, description="Sender or target addresses on the watch list."
    )


class MevClassification(BaseModel):
    """What the MEV inspectors found in the simulated transaction alone."""

    swaps: int = 0
    arbitrages: int = 0
    liquidations: int = 0
    profit: list[dict[str, Any]] = Field(default_factory=list)


class Simulation(BaseModel):
    """The outcome of replaying a pending transaction on a fork of the head it was pending at."""

    head: int = Field(description="The head block the fork was at; the tx ran in the next one.")
    success: bool
    error: str | None = Field(
        default=None, description="Why it could not be simulated (engine refusal, deadline)."
    )
    revert_reason: str | None = None
    gas_used: int = 0
    balance_changes: list[BalanceChange] = Field(default_factory=list)
    token_transfers: list[TokenTransfer] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list, description="Most severe first.")
    mev: MevClassification = Field(default_factory=MevClassification)
    latency_ms: float = Field(description="From the first sighting to the outcome.")

    @property
    def top_finding(self) -> Finding | None:
        return self.findings[0] if self.findings else None


class MonitoredTx(BaseModel):
    """One transaction followed by the monitor (one record however many providers showed it)."""

    tx: PendingTx
    first_seen: dict[str, float] = Field(
        description="Provider label → unix time it first showed the transaction."
    )
    enrichment: Enrichment
    status: TxStatus = "pending"
    simulation: Simulation | None = None
    block_number: int | None = None
    block_hash: str | None = None
    position: int | None = None
    inclusion_latency: float | None = Field(
        default=None, description="Seconds from the first sighting to the including head."
    )
    replaced_by: str | None = None
    replacement: Replacement | None = None
    reorged: int = Field(default=0, description="Times an including block was reorged out.")
    updated_at: float = 0.0

    @property
    def seen_at(self) -> float:
        return min(self.first_seen.values())

    def event(self, kind: str) -> dict[str, Any]:
        """The bus event for this record (`kind`: tx_pending, tx_included, …)."""
        return {"type": kind, **self.model_dump(mode="json")}
