"""Retention of archive chunks, per dataset: keep the newest N days or N blocks, or compact small
chunks (continuous archival writes one per run) into N-block ones.

`plan` says what would go (a dry run stops there); `apply` does it and appends one JSON line per
deleted or rewritten file to `retention.jsonl` in the archive root. A compaction writes the merged
chunk atomically under its layout name, then deletes its sources; a run interrupted in between
leaves sources covered by the merged chunk, which the next plan deletes first."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from timemachine.archive.chunkfile import ChunkFile, chunk_files, write_parquet
from timemachine.archive.layout import BlockRange, ChunkName
from timemachine.archive.query import TIME_COLUMNS
from timemachine.archive.writer import DEFAULT_COMPRESSION, Compression
from timemachine.errors import InvalidInputError

LOG_FILE = "retention.jsonl"
RuleKind = Literal["keep_days", "keep_blocks", "compact"]
RULES: tuple[str, ...] = ("keep_days", "keep_blocks", "compact")
DAY = 86_400.0


@dataclass(frozen=True)
class Policy:
    dataset: str
    """A dataset name, or `*` for every dataset without a policy of its own."""
    rule: RuleKind
    amount: float

    def __str__(self) -> str:
        return f"{self.dataset}:{self.rule}={self.amount:g}"


def parse_policies(text: str) -> list[Policy]:
    """`logs:keep_days=30; *:compact=10000` (see `Settings.archive_retention`)."""
    policies = []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        dataset, _, rule = item.partition(":")
        kind, _, amount = rule.partition("=")
        try:
            number = float(amount)
        except ValueError:
            number = -1.0
        if not dataset.strip() or kind.strip() not in RULES or number <= 0:
            raise InvalidInputError(
                f"retention policy {item!r} is not `dataset:rule=N` with rule one of "
                f"{', '.join(RULES)} and N > 0 (e.g. `logs:keep_days=30`)"
            )
        if kind.strip() != "keep_days" and not number.is_integer():
            raise InvalidInputError(f"retention policy {item!r}: N must be a whole number")
        policies.append(Policy(dataset.strip(), kind.strip(), number))  # type: ignore[arg-type]
    return policies


@dataclass
class Action:
    """One change: delete `files`, or (compact) merge them into `result`."""

    kind: Literal["delete", "compact"]
    network: str
    dataset: str
    files: list[str]
    policy: str
    result: str | None = None
    bytes: int = 0
    paths: list[Path] = field(default_factory=list, repr=False)

    def describe(self) -> str:
        if self.kind == "delete":
            return f"delete {self.files[0]} ({self.bytes:,} bytes; {self.policy})"
        return f"compact {len(self.files)} chunks into {self.result} ({self.policy})"


def plan(root: Path, policies: Sequence[Policy], *, now: float | None = None) -> list[Action]:
    """What applying `policies` to the chunks under `root` would do, oldest first."""
    now = time.time() if now is None else now
    by_stream: dict[tuple[str, str], list[ChunkFile]] = defaultdict(list)
    for chunk in chunk_files(root):
        by_stream[(chunk.name.network, chunk.name.dataset)].append(chunk)
    explicit = {p.dataset for p in policies}
    actions: list[Action] = []
    for (network, dataset), found in sorted(by_stream.items()):
        chunks, covered = _drop_covered(found)
        actions.extend(_delete(c, "covered by a compacted chunk") for c in covered)
        for policy in policies:
            if policy.dataset == dataset or (policy.dataset == "*" and dataset not in explicit):
                chosen = _apply(policy, chunks, by_stream.get((network, "blocks"), []), now)
                actions.extend(chosen)
                gone = {path for action in chosen for path in action.paths}
                chunks = [c for c in chunks if c.path not in gone]
    return actions


def apply(
    root: Path, actions: Iterable[Action], compression: Compression = DEFAULT_COMPRESSION
) -> int:
    """Carry out `actions`, logging each to `retention.jsonl`; returns the files removed."""
    removed = 0
    with (root / LOG_FILE).open("a", encoding="utf-8") as log:
        for action in actions:
            if action.kind == "compact":
                assert action.result is not None
                merged = pa.concat_tables(
                    [pq.read_table(path) for path in action.paths], promote_options="default"
                )
                action.bytes = write_parquet(merged, root / action.result, compression)
            for path in action.paths:
                path.unlink(missing_ok=True)
                removed += 1
            record = {k: v for k, v in asdict(action).items() if k != "paths"}
            record["at"] = dt.datetime.now(dt.UTC).isoformat()
            log.write(json.dumps(record, sort_keys=True) + "\n")
    return removed


def _delete(chunk: ChunkFile, policy: str) -> Action:
    return Action(
        "delete",
        chunk.name.network,
        chunk.name.dataset,
        [chunk.path.name],
        policy,
        bytes=chunk.path.stat().st_size,
        paths=[chunk.path],
    )


def _drop_covered(chunks: list[ChunkFile]) -> tuple[list[ChunkFile], list[ChunkFile]]:
    """Chunks not inside another chunk's range, and those that are (an unfinished compaction)."""
    kept: list[ChunkFile] = []
    covered: list[ChunkFile] = []
    for chunk in chunks:
        b = chunk.name.blocks
        inside = any(
            other is not chunk
            and other.name.blocks != b
            and other.name.blocks.start <= b.start
            and b.end <= other.name.blocks.end
            for other in chunks
        )
        (covered if inside else kept).append(chunk)
    return kept, covered


def _apply(
    policy: Policy, chunks: list[ChunkFile], blocks: list[ChunkFile], now: float
) -> list[Action]:
    if not chunks:
        return []
    if policy.rule == "keep_blocks":
        newest = max(c.name.blocks.end for c in chunks)
        return [
            _delete(c, str(policy)) for c in chunks if c.name.blocks.end <= newest - policy.amount
        ]
    if policy.rule == "keep_days":
        cutoff = now - policy.amount * DAY
        return [_delete(c, str(policy)) for c in chunks if _newest_time(c, blocks) < cutoff]
    return _compactions(policy, chunks)


def _compactions(policy: Policy, chunks: list[ChunkFile]) -> list[Action]:
    """Runs of adjacent chunks within one aligned window of `amount` blocks, merged."""
    size = int(policy.amount)
    runs: list[list[ChunkFile]] = []
    for chunk in sorted(chunks, key=lambda c: c.name.blocks):
        b = chunk.name.blocks
        window = b.start // size
        fits = (b.end - 1) // size == window
        last = runs[-1] if runs else None
        if (
            fits
            and last is not None
            and last[-1].name.blocks.end == b.start
            and last[-1].name.blocks.start // size == window
        ):
            last.append(chunk)
        elif fits:
            runs.append([chunk])
    actions = []
    for run in runs:
        if len(run) < 2:
            continue
        first = run[0].name
        merged = ChunkName(
            first.network, first.dataset, BlockRange(first.blocks.start, run[-1].name.blocks.end)
        )
        actions.append(
            Action(
                "compact",
                first.network,
                first.dataset,
                [c.path.name for c in run],
                str(policy),
                result=merged.filename,
                paths=[c.path for c in run],
            )
        )
    return actions


def _newest_time(chunk: ChunkFile, blocks: list[ChunkFile]) -> float:
    """The newest time in the chunk: its time column's max (Parquet statistics), else the
    timestamp of its last block from the `blocks` chunks, else the file's modification time."""
    metadata = pq.read_metadata(chunk.path)
    names = metadata.schema.names
    column = next((c for c in TIME_COLUMNS if c in names), None)
    if column is not None:
        newest = _column_max(metadata, names.index(column))
        if newest is not None:
            return newest
    last = chunk.name.blocks.end - 1
    for block_chunk in blocks:
        if block_chunk.name.blocks.start <= last < block_chunk.name.blocks.end:
            found = (
                pq.read_table(
                    block_chunk.path, columns=["timestamp"], filters=[("block_number", "=", last)]
                )
                .column("timestamp")
                .to_pylist()
            )
            if found:
                return float(found[0])
    return chunk.path.stat().st_mtime


def _column_max(metadata: pq.FileMetaData, index: int) -> float | None:
    maxima = []
    for group in range(metadata.num_row_groups):
        stats = metadata.row_group(group).column(index).statistics
        if stats is not None and stats.has_min_max:
            maxima.append(float(stats.max))
    return max(maxima) if maxima else None
