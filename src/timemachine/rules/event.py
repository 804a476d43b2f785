"""`RuleEvent`: the one plain object the rule engine evaluates.

The monitor builds one per pending, simulated or mined transaction (and per reorg or MEV bundle);
`rules.adapt` builds one from a replay and its analysis, so a rule can be dry-run on any replayed
transaction. Addresses, selectors and topics are lowercase 0x-hex, amounts are integers in base
units (wei for ETH), so rules compare them without caring how a provider spelled them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from timemachine.models.analysis import Severity

Stage = Literal["pending", "simulated", "mined"]
STAGES: tuple[Stage, ...] = ("pending", "simulated", "mined")


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class TxFields(_Event):
    hash: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    value: int = 0
    gas: int | None = None
    gas_price: int | None = None
    nonce: int | None = None
    input: str = "0x"

    @field_validator("hash", "from_", "to", "input")
    @classmethod
    def _lowercase(cls, value: str | None) -> str | None:
        return _lower(value)

    @property
    def selector(self) -> str | None:
        """The first four bytes of the calldata, 0x-hex; None for a plain transfer."""
        return self.input[:10] if len(self.input) >= 10 else None


class DecodedCallArgs(_Event):
    """The decoded top-level call: its name, canonical signature and arguments by name."""

    name: str
    signature: str
    args: dict[str, Any] = Field(default_factory=dict)


class EventLog(_Event):
    address: str
    topics: tuple[str, ...] = ()
    name: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("address")
    @classmethod
    def _lowercase(cls, value: str) -> str:
        return value.lower()

    @field_validator("topics")
    @classmethod
    def _lower_topics(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(t.lower() for t in value)


class Delta(_Event):
    """An address's balance change of one asset ("eth" or the token's lowercase address)."""

    address: str
    asset: str
    delta: int

    @field_validator("address", "asset")
    @classmethod
    def _lowercase(cls, value: str) -> str:
        return value.lower()


class Simulation(_Event):
    success: bool
    gas_used: int | None = None
    error: str | None = None


class FindingFields(_Event):
    class_: str = Field(alias="class")
    severity: Severity
    title: str = ""
    detector: str = ""


class MevFields(_Event):
    type: str
    profit: int = 0
    profit_token: str | None = None


class RuleEvent(_Event):
    """What a rule sees. `kind` is "tx" for transactions, "reorg" or "block" for chain events."""

    kind: Literal["tx", "reorg", "block"] = "tx"
    stage: Stage
    chain: str
    chain_id: int
    provider: str | None = None
    block_number: int | None = None
    tx: TxFields = Field(default_factory=TxFields)
    call: DecodedCallArgs | None = None
    logs: tuple[EventLog, ...] = ()
    deltas: tuple[Delta, ...] = ()
    simulation: Simulation | None = None
    findings: tuple[FindingFields, ...] = ()
    mev: tuple[MevFields, ...] = ()
    reorg_depth: int | None = None
    links: dict[str, str] = Field(
        default_factory=dict, description="Where to see more: the replay, the analysis."
    )

    def touched_addresses(self) -> set[str]:
        """Every address the index may file a rule under: sender, recipient, log emitters."""
        found = {log.address for log in self.logs}
        found.update(a for a in (self.tx.from_, self.tx.to) if a)
        return found

    def topics(self) -> set[str]:
        return {log.topics[0] for log in self.logs if log.topics}
