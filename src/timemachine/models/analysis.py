"""What the analysis layer concludes about a replayed transaction: findings, profit, fund flow."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from timemachine.models.replay import Verdict
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import BalanceChange

Severity = Literal["critical", "high", "medium", "low", "info"]

#: Most severe first; sorting key for findings.
SEVERITY_ORDER: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")


def severity_rank(severity: Severity) -> int:
    """0 for critical, 4 for info."""
    return SEVERITY_ORDER.index(severity)


class SlotChange(BaseModel):
    """One storage slot of one contract, before and after the transaction."""

    address: str
    slot: str
    before: str | None
    after: str | None


class Amount(BaseModel):
    """Value that moved: `asset` is "ETH" or a token contract address."""

    address: str = Field(description="Who lost or received it.")
    asset: str
    amount: int


class Evidence(BaseModel):
    """What a finding rests on, pointing into the replay result."""

    frames: list[str] = Field(
        default_factory=list, description='Call frame paths, e.g. "calls[1].calls[0]".'
    )
    addresses: list[str] = Field(default_factory=list)
    selectors: list[str] = Field(default_factory=list)
    storage: list[SlotChange] = Field(default_factory=list)
    amounts: list[Amount] = Field(default_factory=list)
    digests: list[str] = Field(default_factory=list, description="Signed digests, 0x-hex.")
    signals: list[str] = Field(
        default_factory=list, description="The independent signals that agreed, in words."
    )
    form: str | None = Field(
        default=None,
        description="The variant of the class, when it has several (e.g. reentrancy: "
        "'single_function', 'cross_function', 'callback_hook', 'cross_contract', "
        "'read_only_reentrancy').",
    )


class Finding(BaseModel):
    """One detector's conclusion about the transaction."""

    detector: str = Field(description="The detector module that produced it, e.g. 'reentrancy'.")
    vulnerability_class: VulnerabilityClass
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    title: str
    explanation: str
    recommendation: str
    evidence: Evidence = Field(default_factory=Evidence)


class AssetAmount(BaseModel):
    """A signed amount of one asset ("ETH" or a token contract address)."""

    asset: str
    amount: int


class AddressAssets(BaseModel):
    """Amounts per asset for one address."""

    address: str
    assets: list[AssetAmount] = Field(default_factory=list)

    def amount(self, asset: str) -> int:
        """The amount of `asset` (0 when absent)."""
        return sum(entry.amount for entry in self.assets if entry.asset == asset)


class AssetValue(BaseModel):
    """One asset's attacker net gain and victim loss, and their worth in the native coin.

    `basis`: "native" (ETH itself), "wrapped native" (WETH, WBNB: 1:1), "pair" (a V2-style pair's
    pre-transaction mid price, named with its reserves), or None when nothing priced the asset:
    its ETH values are then None, never guessed.
    """

    asset: str
    net_gain: int = Field(description="Attackers' combined net change of the asset.")
    loss: int = Field(description="Victims' combined loss of the asset (positive).")
    net_gain_eth: int | None = Field(default=None, description="`net_gain` in wei, if priced.")
    loss_eth: int | None = Field(default=None, description="`loss` in wei, if priced.")
    basis: Literal["native", "wrapped native", "pair"] | None = None
    pair: str | None = Field(default=None, description="The pair whose reserves priced it.")
    reserve_token: int | None = None
    reserve_native: int | None = None


class ProfitReport(BaseModel):
    """Who gained and who lost, per asset, over the transaction.

    Attacker-controlled addresses: the sender, contracts created in the transaction by them, and
    contracts they called that called back into them or forwarded value to them without losing
    anything themselves (plus the entry contract under the same condition).
    """

    sender: str
    attackers: list[str]
    gains: list[AddressAssets] = Field(
        default_factory=list, description="Net balance change per attacker address, per asset."
    )
    losses: list[AddressAssets] = Field(
        default_factory=list, description="Loss (positive) per victim address, per asset."
    )
    net_gain: list[AssetAmount] = Field(
        default_factory=list, description="Sum over the attacker addresses (after gas), per asset."
    )
    total_loss: list[AssetAmount] = Field(default_factory=list)
    gas_fee_wei: int | None = Field(
        default=None, description="ETH the sender paid for gas (derived from its ETH balances)."
    )
    values: list[AssetValue] = Field(
        default_factory=list,
        description="Per asset gained or lost: amounts and their worth in wei of the native coin.",
    )
    net_gain_eth: int = Field(
        default=0, description="Attackers' net gain in wei over the priced assets."
    )
    total_loss_eth: int = Field(
        default=0, description="Victims' combined loss in wei over the priced assets."
    )
    unpriced: list[str] = Field(
        default_factory=list,
        description="Assets gained or lost that no price covers (left out of the ETH totals).",
    )

    def net(self, asset: str = "ETH") -> int:
        """Attackers' combined net gain of `asset`."""
        return sum(entry.amount for entry in self.net_gain if entry.asset == asset)

    def loss(self, asset: str = "ETH") -> int:
        """Victims' combined loss of `asset`."""
        return sum(entry.amount for entry in self.total_loss if entry.asset == asset)


class FlowEdge(BaseModel):
    """Value moved between two addresses (summed over the transaction)."""

    source: str
    target: str
    asset: str
    amount: int
    transfers: int = Field(description="How many transfers the edge sums.")


class FundFlow(BaseModel):
    """The fund-flow graph: nodes are addresses, edges are transfers grouped by asset."""

    nodes: list[str] = Field(default_factory=list)
    edges: list[FlowEdge] = Field(default_factory=list)


class TokenInfo(BaseModel):
    """What a token calls itself (symbol()/decimals() read on the fork, or the bundled list)."""

    symbol: str | None = None
    decimals: int | None = None


class Names(BaseModel):
    """The names a report's renderers use: address labels and token metadata, by lower-cased
    address (see `timemachine.trace.naming`)."""

    labels: dict[str, str] = Field(default_factory=dict)
    tokens: dict[str, TokenInfo] = Field(default_factory=dict)


class AnalysisReport(BaseModel):
    """A replay, summarized, with everything the detectors and profit analysis concluded."""

    tx_hash: str
    chain_id: int
    chain: str
    block_number: int
    sender: str
    to: str | None
    status: int
    gas_used: int
    fidelity: Verdict
    findings: list[Finding] = Field(
        default_factory=list, description="Most severe first, then most confident."
    )
    profit: ProfitReport
    fund_flow: FundFlow
    balance_changes: list[BalanceChange] = Field(default_factory=list)
    names: Names = Field(
        default_factory=Names,
        description="Labels and token symbols/decimals of the addresses in this report.",
    )

    @property
    def top(self) -> Finding | None:
        """The most severe (then most confident) finding."""
        return self.findings[0] if self.findings else None
