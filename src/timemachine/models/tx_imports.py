"""Schemas of transaction imports (file or RPC scan) and of batch replays with their report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from timemachine.models.sessions import TxImportItem


class RowError(BaseModel):
    """A rejected row: where it is and why."""

    model_config = ConfigDict(frozen=True)

    line: int = Field(
        description="CSV: 1-based line in the file (the header is line 1); JSON: array index."
    )
    reason: str


class DuplicateRow(BaseModel):
    """A row naming a transaction an earlier row of the same file named already (merged)."""

    model_config = ConfigDict(frozen=True)

    line: int
    first_line: int


class ParsedImport(BaseModel):
    """A file read row by row: the good rows (de-duplicated), the rejected ones, the duplicates."""

    items: list[TxImportItem] = Field(default_factory=list)
    item_lines: list[int] = Field(
        default_factory=list, description="Where each item of `items` first appeared."
    )
    errors: list[RowError] = Field(default_factory=list)
    duplicates: list[DuplicateRow] = Field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows read (good, rejected and duplicate)."""
        return len(self.items) + len(self.errors) + len(self.duplicates)


class ImportReport(BaseModel):
    """What an import did; `accepted + rejected + duplicates` is the number of rows read."""

    accepted: int = Field(description="Transactions new to the owner, stored now.")
    rejected: int = Field(description="Rows that failed validation (see `errors`).")
    duplicates: int = Field(
        description="Rows naming a transaction already stored, or already named in the file."
    )
    errors: list[RowError] = Field(default_factory=list)
    import_id: str | None = Field(
        default=None, description="The stored import batch (None when nothing was stored)."
    )
    items: list[TxImportItem] = Field(
        default_factory=list, description="Every good row (accepted or duplicate), de-duplicated."
    )

    def summary(self) -> dict[str, object]:
        """The CLI's `--json` shape: import_id, accepted, rejected, duplicates, errors (line,
        reason)."""
        return self.model_dump(
            include={"import_id", "accepted", "rejected", "duplicates", "errors"}
        )


BatchVerdict = Literal["exact", "diverged", "unverified", "failed"]


class BatchTarget(BaseModel):
    """One transaction to replay in a batch."""

    model_config = ConfigDict(frozen=True)

    hash: str
    chain_id: int | None = None
    block: int | None = None
    label: str | None = None


class BatchRow(BaseModel):
    """One transaction's outcome in a batch replay."""

    hash: str
    label: str | None = None
    block: int | None = None
    index: int | None = None
    verdict: BatchVerdict
    status: int | None = Field(default=None, description="Replayed receipt status.")
    gas_original: int | None = None
    gas_replayed: int | None = None
    differences: list[str] = Field(
        default_factory=list, description="Diverged: `field: explanation` per difference."
    )
    error: str | None = Field(default=None, description="Failed: the one-line error.")


class ReasonCount(BaseModel):
    """A reason (a difference path or an error message) and how many transactions had it."""

    reason: str
    count: int


class BatchReport(BaseModel):
    """Every transaction of a batch replayed and compared with what really happened."""

    total: int
    exact: int
    diverged: int
    unverified: int
    failed: int
    divergence_reasons: list[ReasonCount] = Field(
        default_factory=list, description="Difference paths (`gas_used`, `logs[0].data`…)."
    )
    failure_reasons: list[ReasonCount] = Field(default_factory=list)
    elapsed_seconds: float
    replays_per_second: float
    blocks: int = Field(description="Distinct blocks (one fork execution each).")
    concurrency: int
    rows: list[BatchRow]
