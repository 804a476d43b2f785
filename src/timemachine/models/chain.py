"""Chain-side facts about a block and a transaction, normalized from JSON-RPC hex."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BlockEnv(BaseModel):
    """The block environment a transaction executed under."""

    model_config = ConfigDict(frozen=True)

    number: int
    hash: str | None = None
    parent_hash: str | None = None
    timestamp: int
    coinbase: str
    gas_limit: int
    base_fee: int | None = Field(default=None, description="EIP-1559 base fee; None before London.")
    difficulty: int = 0
    prevrandao: str | None = Field(default=None, description="mixHash; PREVRANDAO after the Merge.")
    blob_gas_used: int | None = None
    excess_blob_gas: int | None = None
    has_withdrawals: bool = False
    has_requests: bool = False


class TransactionInfo(BaseModel):
    """A mined (or raw, not yet mined) transaction as the node reports it."""

    model_config = ConfigDict(frozen=True)

    hash: str
    block_number: int | None
    tx_index: int | None
    sender: str
    to: str | None
    value: int
    input: str
    gas: int
    nonce: int
    type: int = 0
    raw: str | None = Field(default=None, description="The signed RLP, when known.")
