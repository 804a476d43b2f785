"""What building the devnet history produced: scenario records and the notable transactions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timemachine.errors import NotFoundError


class ScenarioRecord(BaseModel):
    """One exploit (or benign control) as it landed on the devnet."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable scenario id, e.g. 'reentrancy-bank'.")
    title: str
    description: str
    vulnerability_class: str = Field(description="e.g. 'reentrancy'; 'none' for benign controls.")
    exploit_tx: str
    block_number: int
    attacker: str = Field(
        description="Checksummed EOA that sent the exploit (benign control: its representative tx)."
    )
    attacker_contracts: list[str] = Field(default_factory=list)
    victims: list[str] = Field(default_factory=list, description="Victim contract addresses.")
    expected_losses: dict[str, int] = Field(
        default_factory=dict,
        description=(
            'What the victims lost in the exploit tx, per asset ("ETH" in wei, or a lower-cased '
            "token address in base units), measured on-chain."
        ),
    )
    expected_profit: dict[str, int] = Field(
        default_factory=dict,
        description="The attacker side's net gain per asset (ETH after the gas fee), measured.",
    )
    benign: bool = Field(
        default=False,
        description="A benign control (class 'none'): exploit_tx is a representative, honest tx.",
    )
    expected_mev: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict,
        description=(
            "MEV scenarios' ground truth: per MEV type (mev-inspect-py's names: 'sandwiches', "
            "'arbitrages', 'liquidations', 'jit_liquidity') the objects an inspector must find in "
            "block_number, each with the fields it must match exactly (addresses lower-cased)."
        ),
    )


class DevnetHistory(BaseModel):
    """The deterministic devnet history: same anvil flags in, same hashes and blocks out."""

    model_config = ConfigDict(frozen=True)

    chain_id: int
    scenarios: list[ScenarioRecord]
    busy_block: int = Field(description="A block with many txs, several of them interdependent.")
    busy_tx: str = Field(description="A tx late in busy_block that depends on earlier txs in it.")
    labels: dict[str, str] = Field(description="Checksummed address -> contract or actor name.")
    transactions: int = Field(description="Transactions sent in total.")
    head_block: int = Field(description="The last block mined.")

    def scenario(self, scenario_id: str) -> ScenarioRecord:
        """The record of `scenario_id`."""
        for record in self.scenarios:
            if record.id == scenario_id:
                return record
        known = ", ".join(r.id for r in self.scenarios)
        raise NotFoundError(f"no scenario {scenario_id!r} in this history; known: {known}")

    def address_of(self, label: str) -> str:
        """The address labelled `label` (e.g. 'EtherBank', 'alice')."""
        for address, name in self.labels.items():
            if name == label:
                return address
        raise NotFoundError(f"no address labelled {label!r} in this history")
