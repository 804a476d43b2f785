"""Request bodies of the service (kept compatible with the original spec's examples)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from timemachine.models.bounds import BlockNumber, ChainId
from timemachine.models.replay import ReplayMode
from timemachine.models.whatif import AccountOverride, CallSpec, CodePatch, WhatIf
from timemachine.untrusted import MAX_SOLIDITY_BYTES

MAX_TRANSACTIONS = 100
"""Transactions one replay request may carry."""


class ReplayOptions(BaseModel):
    """How to replay: `include_analysis` runs the detectors on every replayed tx;
    `detailed_tracing` keeps the full call tree and state diff in the stored result."""

    model_config = ConfigDict(extra="forbid")

    include_analysis: bool = True
    detailed_tracing: bool = True
    mode: ReplayMode = "exact"


class ExploitReplayRequest(BaseModel):
    """`POST /api/time-machine/replay/exploit/start`."""

    model_config = ConfigDict(extra="forbid")

    exploit_id: str = Field(min_length=1, max_length=200, examples=["reentrancy-bank"])
    user_id: str | None = Field(
        default=None, max_length=200, description="Who owns the session (default: anonymous)."
    )
    options: ReplayOptions = Field(default_factory=ReplayOptions)


class TransactionRef(BaseModel):
    """One transaction to replay: its hash, optionally its block and chain."""

    model_config = ConfigDict(extra="forbid")

    hash: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    block_number: BlockNumber | None = None
    chain_id: ChainId | None = Field(
        default=None, description="Default: the embedded devnet (31337)."
    )

    @field_validator("hash")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class TransactionsReplayRequest(BaseModel):
    """`POST /api/time-machine/replay/transactions/start`."""

    model_config = ConfigDict(extra="forbid")

    transactions: list[TransactionRef] = Field(min_length=1, max_length=MAX_TRANSACTIONS)
    user_id: str | None = Field(default=None, max_length=200)
    options: ReplayOptions = Field(default_factory=ReplayOptions)


class ExploitAnalysisRequest(BaseModel):
    """`POST /api/time-machine/exploits/{exploit_id}/analyze`."""

    model_config = ConfigDict(extra="forbid")

    analysis_depth: Literal["basic", "standard", "deep"] = Field(
        default="standard",
        description="basic: findings and profit; standard: + fund flow and balance changes; "
        "deep: + the full replay (call tree, state diff).",
    )
    include_recommendations: bool = True
    user_id: str | None = Field(default=None, max_length=200)


# ---------------------------------------------------------------- what-if, verify-fix, imports

DEVNET_CHAIN = 31337
"""The embedded devnet's chain id (the default chain of a what-if or verify-fix request)."""
MAX_PATCHES = 20
_TX_HASH = r"^0x[0-9a-fA-F]{64}$"
_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"


class PatchSpec(BaseModel):
    """A code patch sent over HTTP: exactly one of `code` (runtime bytecode), `artifact` (a
    bundled compiled contract, e.g. "EtherBankFixed") or `source_text` (the Solidity source
    itself, one file without imports; `contract` names the contract when it holds several).

    Never a file path: `source` (a path on the server) is refused, since reading it would let a
    client read any file the worker can. The worker writes `source_text` to a private temporary
    directory and compiles it there."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(pattern=_ADDRESS)
    code: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]*$", max_length=200_000)
    artifact: str | None = Field(default=None, pattern=_IDENTIFIER, examples=["EtherBankFixed"])
    source_text: str | None = Field(default=None, min_length=1, max_length=MAX_SOLIDITY_BYTES)
    contract: str | None = Field(default=None, pattern=_IDENTIFIER)
    constructor_args: list[Any] | None = Field(default=None, max_length=32)

    @model_validator(mode="before")
    @classmethod
    def _no_paths(cls, data: Any) -> Any:
        if isinstance(data, dict) and "source" in data:
            raise ValueError(
                "'source' (a file path on the server) is not accepted over HTTP; send the "
                "Solidity text as 'source_text', a bundled 'artifact' name, or runtime 'code'"
            )
        return data

    @model_validator(mode="after")
    def _one_source(self) -> PatchSpec:
        given = [n for n in ("code", "artifact", "source_text") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a patch needs exactly one of code, artifact or source_text")
        return self

    def to_patch(self, source_file: Path | None = None) -> CodePatch:
        """The engine's `CodePatch`; `source_file` is where `source_text` was written."""
        if self.source_text is not None and source_file is None:
            raise ValueError("a source_text patch needs the file its text was written to")
        return CodePatch(
            address=self.address,
            code=self.code,
            artifact=self.artifact,
            source=str(source_file) if self.source_text is not None else None,
            contract=self.contract,
            constructor_args=self.constructor_args,
        )


class WhatIfStartRequest(BaseModel):
    """`POST /api/time-machine/whatif/start`: replay `tx_hash` with the `WhatIf` modifications
    (patches as `PatchSpec`); with `compare`, also replay it unmodified and compare the two."""

    model_config = ConfigDict(extra="forbid")

    tx_hash: str = Field(pattern=_TX_HASH)
    chain_id: ChainId = Field(default=DEVNET_CHAIN, description="Default: the devnet.")
    overrides: list[AccountOverride] = Field(default_factory=list, max_length=MAX_TRANSACTIONS)
    patches: list[PatchSpec] = Field(default_factory=list, max_length=MAX_PATCHES)
    sender: str | None = Field(default=None, pattern=_ADDRESS)
    at_block: BlockNumber | None = None
    before: list[str | CallSpec] = Field(default_factory=list, max_length=MAX_TRANSACTIONS)
    drop: list[str] = Field(default_factory=list, max_length=MAX_TRANSACTIONS)
    mode: ReplayMode = "exact"
    compare: bool = True
    user_id: str | None = Field(default=None, max_length=200, description="Ignored.")

    @field_validator("tx_hash")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    def whatif(self, source_files: Sequence[Path | None] = ()) -> WhatIf:
        """The engine's `WhatIf` (`source_files[i]`: where patch i's source text was written)."""
        files = list(source_files) or [None] * len(self.patches)
        return WhatIf(
            overrides=self.overrides,
            patches=[spec.to_patch(path) for spec, path in zip(self.patches, files, strict=True)],
            sender=self.sender,
            at_block=self.at_block,
            before=self.before,
            drop=self.drop,
            mode=self.mode,
        )


class VerifyFixStartRequest(BaseModel):
    """`POST /api/time-machine/verify-fix/start`: `tx_hash` and at least one patch, or
    `scenario_id` alone (a bundled devnet scenario, patched with its own bundled fix)."""

    model_config = ConfigDict(extra="forbid")

    tx_hash: str | None = Field(default=None, pattern=_TX_HASH)
    chain_id: ChainId = Field(default=DEVNET_CHAIN, description="Default: the devnet.")
    patches: list[PatchSpec] = Field(default_factory=list, max_length=MAX_PATCHES)
    scenario_id: str | None = Field(
        default=None, min_length=1, max_length=200, examples=["reentrancy-bank"]
    )
    user_id: str | None = Field(default=None, max_length=200, description="Ignored.")

    @model_validator(mode="after")
    def _target(self) -> VerifyFixStartRequest:
        if self.scenario_id is not None:
            if self.tx_hash is not None or self.patches:
                raise ValueError("scenario_id takes no tx_hash or patches (it brings its own fix)")
            if self.chain_id != DEVNET_CHAIN:
                raise ValueError("bundled scenarios run on the devnet (chain_id 31337)")
        elif self.tx_hash is None or not self.patches:
            raise ValueError("give tx_hash and at least one patch, or scenario_id")
        if self.tx_hash is not None:
            self.tx_hash = self.tx_hash.lower()
        return self


class ImportRequest(BaseModel):
    """`POST /api/time-machine/imports`: a CSV file or JSON list, as text."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "json"]
    content: str = Field(description="The file's text (the request body is limited to 1 MiB).")
    chain: str | None = Field(
        default=None, max_length=64, description="Default chain of rows without one."
    )
    source: str = Field(default="api", min_length=1, max_length=200, description="A name.")


class ImportReplayRequest(BaseModel):
    """`POST /api/time-machine/imports/{import_id}/replay`: a session over at most 100 of the
    import's transactions (one chain per session): `offset` pages through bigger imports."""

    model_config = ConfigDict(extra="forbid")

    chain_id: ChainId | None = Field(
        default=None, description="Only this chain's transactions (needed when mixed)."
    )
    offset: int = Field(default=0, ge=0, le=10**9)
    limit: int = Field(default=MAX_TRANSACTIONS, ge=1, le=MAX_TRANSACTIONS)
    options: ReplayOptions = Field(default_factory=ReplayOptions)
