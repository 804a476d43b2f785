"""MEV inspection data: the internal flat trace, and the results with mev-inspect-py's field names.

`Trace`, `Receipt`, `Block` and `Transfer` are slotted dataclasses: an inspector touches every
trace of a block, and these are built thousands of times per block. The results are pydantic
models (the one schema for the CLI's JSON, the API and storage); amounts are Python ints, so JSON
carries them as exact integers, never floats.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

ETH_TOKEN_ADDRESS = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
WETH_TOKEN_ADDRESS = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"

Kind = Literal["transfer", "swap", "liquidate", "seize", "mint", "burn", "collect"]


@dataclass(slots=True, eq=False)
class Trace:
    """One Parity-style flat trace (call, create, suicide or reward), addresses lower-case.

    The classifier fills the last five fields when a protocol spec recognises the call.
    """

    block_number: int
    transaction_hash: str | None
    transaction_position: int | None
    trace_address: tuple[int, ...]
    type: str
    call_type: str | None
    from_address: str | None
    to_address: str | None
    value: int
    input: str
    output: str | None
    gas_used: int | None
    error: str | None
    subtraces: int
    kind: Kind | None = None
    protocol: str | None = None
    abi_name: str | None = None
    function_signature: str | None = None
    inputs: dict[str, Any] | None = None

    @property
    def selector(self) -> str:
        return self.input[:10]

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(slots=True)
class Receipt:
    transaction_hash: str
    transaction_index: int
    gas_used: int
    effective_gas_price: int
    to: str | None = None
    from_address: str | None = None


@dataclass(slots=True)
class Block:
    """A block's flat traces and receipts, as every trace source produces it."""

    block_number: int
    miner: str | None
    base_fee_per_gas: int
    traces: list[Trace]
    receipts: list[Receipt] = field(default_factory=list)
    block_timestamp: int | None = None


@dataclass(slots=True, frozen=True)
class Transfer:
    """A value movement seen in a trace: an ETH call value or a token transfer call."""

    transaction_hash: str
    trace_address: tuple[int, ...]
    from_address: str
    to_address: str
    amount: int
    token_address: str


class Swap(BaseModel):
    abi_name: str
    transaction_hash: str
    transaction_position: int
    block_number: int
    trace_address: list[int]
    contract_address: str
    from_address: str
    to_address: str
    token_in_address: str
    token_in_amount: int
    token_out_address: str
    token_out_amount: int
    protocol: str
    error: str | None = None


class Arbitrage(BaseModel):
    swaps: list[Swap]
    block_number: int
    transaction_hash: str
    account_address: str
    profit_token_address: str
    start_amount: int
    end_amount: int
    profit_amount: int
    error: str | None = None
    protocols: list[str] = Field(default_factory=list)


SandwichKind = Literal["balanced", "front_heavy", "back_heavy"]


class Sandwich(BaseModel):
    block_number: int
    sandwicher_address: str
    frontrun_swap: Swap
    backrun_swap: Swap
    sandwiched_swaps: list[Swap]
    profit_token_address: str
    profit_amount: int
    kind: SandwichKind = Field(
        description="balanced: the back-run sells what the front-run bought; front_heavy: it "
        "sells less (the rest is kept); back_heavy: it sells more (from inventory)."
    )
    matched_amount: int = Field(
        description="Units of the bought token both legs cover: min(bought, sold)."
    )
    profit_explanation: str


class Liquidation(BaseModel):
    liquidated_user: str
    liquidator_user: str
    debt_token_address: str
    debt_purchase_amount: int
    received_amount: int
    received_token_address: str | None
    protocol: str
    transaction_hash: str
    trace_address: list[int]
    block_number: int
    error: str | None = None


class JitLiquidity(BaseModel):
    block_number: int
    bot_address: str
    pool_address: str
    mint_transaction_hash: str
    mint_trace: list[int]
    burn_transaction_hash: str
    burn_trace: list[int]
    swaps: list[Swap]
    token0_address: str
    token1_address: str
    mint_token0_amount: int
    mint_token1_amount: int
    burn_token0_amount: int
    burn_token1_amount: int
    token0_swap_volume: int
    token1_swap_volume: int


class MinerPayment(BaseModel):
    block_number: int
    transaction_hash: str
    transaction_index: int
    miner_address: str
    coinbase_transfer: int
    base_fee_per_gas: int
    gas_price: int
    gas_price_with_coinbase_transfer: int
    gas_used: int
    priority_fee: int = Field(description="(gas_price - base_fee_per_gas) * gas_used, in wei.")
    transaction_to_address: str | None
    transaction_from_address: str | None


@dataclass(frozen=True)
class EthPrice:
    """`units` base units of a token are worth `wei` wei; `basis` says where that comes from."""

    wei: int
    units: int
    basis: str

    def value_of(self, amount: int) -> int:
        """`amount` base units in wei, rounded toward zero."""
        magnitude = abs(amount) * self.wei // self.units
        return magnitude if amount >= 0 else -magnitude


class TypeSummary(BaseModel):
    count: int
    profit: dict[str, int] = Field(
        default_factory=dict, description="Summed profit per profit token (integer units)."
    )
    profit_eth: int = Field(
        0,
        description="Profit in wei: ETH/WETH profits, plus other tokens' where a price source "
        "priced them (see `priced`).",
    )
    priced: dict[str, str] = Field(
        default_factory=dict, description="Profit tokens valued through a price source: basis."
    )
    unpriced: list[str] = Field(
        default_factory=list,
        description="Profit tokens no price source priced: their profit is only in `profit`.",
    )


class BlockSummary(BaseModel):
    mev_count: int
    by_type: dict[str, TypeSummary]
    miner_address: str | None
    coinbase_transfers: int
    priority_fees: int
    miner_revenue: int = Field(description="coinbase_transfers + priority_fees, in wei.")


class BlockInspection(BaseModel):
    block_number: int
    miner_address: str | None
    swaps: list[Swap]
    arbitrages: list[Arbitrage]
    sandwiches: list[Sandwich]
    liquidations: list[Liquidation]
    jit_liquidity: list[JitLiquidity]
    miner_payments: list[MinerPayment]
    summary: BlockSummary


class InspectionReport(BaseModel):
    blocks: list[BlockInspection]
