"""Capsules: self-contained, offline replay units (versioned JSON, optionally zstd-compressed).

Every field is validated on load with hard limits, so a corrupt, truncated or hostile file is
rejected with a clear message instead of exhausting memory or reaching the engine.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from timemachine.models.chain import BlockEnv
from timemachine.models.trace import LogEntry

CapsuleFormat = Literal["timemachine.capsule"]
CAPSULE_FORMAT: CapsuleFormat = "timemachine.capsule"
CapsuleVersion = Literal[1, 2]
CAPSULE_VERSION: CapsuleVersion = 2  # the newest; a capsule without a what-if is written as 1
CAPSULE_VERSIONS: tuple[int, ...] = (1, 2)
MAX_WHATIF_EDITS = 10_000
MAX_ACCOUNTS = 100_000
MAX_SLOTS_PER_ACCOUNT = 200_000
MAX_TRANSACTIONS = 5_000
MAX_CODE_HEX = 2 * 64 * 1024  # 64 KiB of code: above every fork's limit (24 KiB / 48 KiB)
MAX_BALANCE = 2**256 - 1

Word = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{1,64}$")]
Address = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]
Hash = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
HexBytes = Annotated[str, StringConstraints(pattern=r"^0x([0-9a-fA-F]{2})*$")]


def _bounded_storage(storage: dict[str, str]) -> dict[str, str]:
    if len(storage) > MAX_SLOTS_PER_ACCOUNT:
        raise ValueError(f"more than {MAX_SLOTS_PER_ACCOUNT} storage slots")
    return storage


Storage = Annotated[dict[Word, Word], AfterValidator(_bounded_storage)]
"""An account's storage slots (slot -> value), at most MAX_SLOTS_PER_ACCOUNT of them."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapsuleAccount(_Strict):
    """An account as it was before the capsule's first transaction."""

    balance: int = Field(ge=0, le=MAX_BALANCE)
    nonce: int = Field(ge=0, lt=2**64)
    code: HexBytes = Field(default="0x", max_length=MAX_CODE_HEX + 2)
    storage: Storage = Field(default_factory=dict)


class CapsuleTransaction(_Strict):
    """One transaction: the JSON-RPC fields to send it (impersonated), or its raw signed bytes."""

    hash: Hash | None = Field(
        default=None,
        description="The original transaction hash (none for a call a what-if inserted).",
    )
    raw: HexBytes | None = Field(default=None, max_length=2 * 1024 * 1024)
    fields: dict[str, Any] | None = Field(
        default=None, description="JSON-RPC transaction object (from, to, gas, fees, input, ...)."
    )

    @field_validator("fields")
    @classmethod
    def _has_sender(cls, fields: dict[str, Any] | None) -> dict[str, Any] | None:
        if fields is not None and not isinstance(fields.get("from"), str):
            raise ValueError("transaction fields need a 'from' address")
        return fields


class CapsuleOutcome(_Strict):
    """What the original transaction did, to judge the offline replay against."""

    status: Literal[0, 1]
    gas_used: int = Field(ge=0)
    logs: list[LogEntry] = Field(default_factory=list)
    contract_address: Address | None = None
    trace_digest: Hash | None = Field(
        default=None, description="sha256 of the normalized call tree, when it was recorded."
    )


class CapsuleStateEdit(_Strict):
    """One modification a what-if made on the fork before the block: code (patched or
    overridden, as the runtime bytecode that was put there), balance, nonce or storage slots."""

    address: Address
    balance: int | None = Field(default=None, ge=0, le=MAX_BALANCE)
    nonce: int | None = Field(default=None, ge=0, lt=2**64)
    code: HexBytes | None = Field(default=None, max_length=MAX_CODE_HEX + 2)
    storage: Storage = Field(default_factory=dict)


class CapsuleWhatIf(_Strict):
    """The what-if a capsule carries (version 2).

    `state` is applied, in order, on top of the capsule's accounts before the block runs; the
    inserted transactions, the dropped ones and another sender are already in `transactions`,
    and another block (`at_block`) is already the capsule's block and accounts. `expected` is
    then the live what-if's outcome; `original` is what the unmodified transaction did.
    """

    description: list[Annotated[str, StringConstraints(max_length=2_000)]] = Field(
        default_factory=list, max_length=1_000, description="One line per modification."
    )
    state: list[CapsuleStateEdit] = Field(default_factory=list, max_length=MAX_WHATIF_EDITS)
    mode: Literal["exact", "quick"] = "exact"
    at_block: int | None = Field(default=None, ge=0, lt=2**63)
    original: CapsuleOutcome


class Capsule(_Strict):
    """Everything one offline replay needs: chain, rules, block, prestate, transactions, outcome.

    The last transaction is the target; the ones before it are the block's earlier transactions
    (exact mode) and are replayed first, in order.
    """

    format: CapsuleFormat = CAPSULE_FORMAT
    version: CapsuleVersion = CAPSULE_VERSION
    chain_id: int = Field(ge=1, lt=2**63)
    hardfork: str = Field(pattern=r"^[a-z0-9]{2,32}$")
    block_env: BlockEnv
    accounts: dict[Address, CapsuleAccount]
    transactions: list[CapsuleTransaction] = Field(min_length=1, max_length=MAX_TRANSACTIONS)
    expected: CapsuleOutcome
    source: dict[str, str] = Field(
        default_factory=dict, description="Provenance (upstream label, tool version)."
    )
    whatif: CapsuleWhatIf | None = Field(
        default=None, description="The modifications of a what-if capsule (version 2)."
    )

    @field_validator("accounts")
    @classmethod
    def _bounded_accounts(cls, accounts: dict[str, Any]) -> dict[str, Any]:
        if len(accounts) > MAX_ACCOUNTS:
            raise ValueError(f"more than {MAX_ACCOUNTS} accounts")
        return accounts

    @model_validator(mode="after")
    def _version_fits(self) -> Capsule:
        if self.target.hash is None:
            raise ValueError("the target transaction (the last one) needs its hash")
        if self.version == 1 and (
            self.whatif is not None or any(tx.hash is None for tx in self.transactions)
        ):
            raise ValueError("a what-if (or a transaction without hash) needs capsule version 2")
        return self

    @property
    def target(self) -> CapsuleTransaction:
        return self.transactions[-1]
