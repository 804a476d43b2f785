"""What-if replays: the modifications a researcher asks for, and what fix verification concludes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from timemachine.models.analysis import AssetAmount, ProfitReport
from timemachine.models.replay import ReplayMode


class AccountOverride(BaseModel):
    """State set on one account on the fork before the target runs (anvil_set* calls)."""

    address: str
    balance: int | None = Field(default=None, ge=0, description="Wei.")
    nonce: int | None = Field(default=None, ge=0)
    code: str | None = Field(default=None, description="Runtime bytecode, 0x-hex.")
    storage: dict[str, str] = Field(
        default_factory=dict, description="Slot -> 32-byte value, both 0x-hex (or decimal)."
    )


class CodePatch(BaseModel):
    """Replace the runtime code of `address` (its storage is kept).

    Exactly one source: `code` (runtime bytecode), `source` (a Solidity file compiled with the
    pinned npm solc, `contract` naming the contract when the file holds several), or `artifact`
    (a bundled compiled contract, e.g. "EtherBankFixed"). Init code is run on the fork with
    `constructor_args` (an `eth_call` creation) and its returned runtime code is copied to
    `address`, so immutables are filled in like Foundry's `vm.etch` of deployed code. Without
    `constructor_args`, each constructor parameter is read from the target's getter of the same
    name (`asset_` -> `asset()`); an argument "@name" reads getter `name()` explicitly.
    """

    address: str
    code: str | None = None
    source: str | None = None
    contract: str | None = None
    artifact: str | None = None
    constructor_args: list[Any] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CodePatch:
        given = [name for name in ("code", "source", "artifact") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("a patch needs exactly one of code, source or artifact")
        return self


class CallSpec(BaseModel):
    """A call sent as a transaction by impersonation (an extra transaction that was never mined)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: str = Field(alias="from")
    to: str | None = None
    data: str = "0x"
    value: int = Field(default=0, ge=0)
    gas: int | None = Field(default=None, gt=0)


class WhatIf(BaseModel):
    """Modifications applied on the fork before the target transaction runs.

    Exact mode (default) runs the block's earlier transactions first (minus `drop`), then
    `before` (mined txs by hash, or call specs) in order, then the target. With `at_block` the
    target's call (from, to, data, value, gas) runs instead on a fork of block `at_block`, in a
    new block after it; the earlier transactions of the original block are not run.
    """

    overrides: list[AccountOverride] = Field(default_factory=list)
    patches: list[CodePatch] = Field(default_factory=list)
    sender: str | None = Field(default=None, description="Send the target as this address.")
    at_block: int | None = Field(default=None, ge=0)
    before: list[str | CallSpec] = Field(
        default_factory=list, description="Inserted before the target: tx hashes or call specs."
    )
    drop: list[str] = Field(
        default_factory=list, description="Hashes of the block's earlier txs to leave out."
    )
    mode: ReplayMode = "exact"

    @property
    def empty(self) -> bool:
        """No modification at all (a plain replay)."""
        return not (
            self.overrides
            or self.patches
            or self.sender
            or self.at_block is not None
            or self.before
            or self.drop
        )

    def describe(self) -> list[str]:
        """One line per modification, for notes and reports."""
        lines = [f"patched code of {patch.address} ({_origin(patch)})" for patch in self.patches]
        for item in self.overrides:
            fields = [
                name for name in ("balance", "nonce", "code") if getattr(item, name) is not None
            ]
            fields += [f"storage[{slot}]" for slot in item.storage]
            lines.append(f"state override of {item.address}: {', '.join(fields)}")
        if self.sender:
            lines.append(f"sent by {self.sender} (impersonated)")
        if self.at_block is not None:
            lines.append(f"the same call run on top of block {self.at_block}")
        for entry in self.before:
            what = entry if isinstance(entry, str) else f"call from {entry.from_} to {entry.to}"
            lines.append(f"inserted before the target: {what}")
        lines += [f"earlier transaction {tx} left out" for tx in self.drop]
        return lines


def _origin(patch: CodePatch) -> str:
    if patch.artifact:
        return f"artifact {patch.artifact}"
    if patch.source:
        return f"{patch.source}{':' + patch.contract if patch.contract else ''}"
    return "runtime bytecode"


class AssetDelta(BaseModel):
    """One asset's attacker net gain in two runs and the difference (patched minus original)."""

    asset: str
    symbol: str | None = None
    decimals: int | None = None
    original: int
    patched: int
    difference: int

    def values(self) -> tuple[int, int, int]:
        """(original, patched, difference)."""
        return self.original, self.patched, self.difference


class FixVerification(BaseModel):
    """Whether a patched contract stops an exploit: the exploit replayed against both codes."""

    tx_hash: str
    patches: list[CodePatch]
    stopped: bool = Field(
        description="The patched run reverted, or its attacker side gained no asset and its "
        "victims lost nothing."
    )
    verdict: Literal["stopped", "still exploitable"]
    reason: str
    original_status: int
    patched_status: int
    patched_revert_reason: str | None = None
    original_profit: ProfitReport
    patched_profit: ProfitReport
    profit_difference: list[AssetDelta] = Field(default_factory=list)
    patched_loss: list[AssetAmount] = Field(
        default_factory=list, description="What the victims still lose with the patch."
    )
