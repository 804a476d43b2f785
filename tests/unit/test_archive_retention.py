"""Retention: keep N blocks / N days (a chunk's newest time from its own time column or the
archived blocks), compaction of small chunks into aligned ones, a dry run that changes nothing,
the JSON-lines log and the catalog, and an interrupted compaction finished by the next plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from timemachine.archive.chunkfile import chunk_files, write_parquet
from timemachine.archive.layout import BlockRange, ChunkName
from timemachine.archive.own.columns import Column, table
from timemachine.archive.retention import LOG_FILE, Policy, apply, parse_policies, plan
from timemachine.cli.archive_query import register
from timemachine.errors import InvalidInputError
from timemachine.settings import get_settings
from timemachine.store import Database, open_database
from timemachine.store.archive import ArchiveCatalog, ArchiveChunk

NOW = 1_800_000_000.0
DAY = 86_400
LOG_COLUMNS = (Column("block_number", "u32"), Column("log_index", "u32"))
RANGES = [(0, 3), (3, 6), (6, 10), (10, 12), (12, 20)]


def block_time(number: int) -> int:
    """Block n is (20 - n) days old."""
    return int(NOW) - (20 - number) * DAY


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for start, end in RANGES:
        rows = [{"block_number": n, "log_index": i} for n in range(start, end) for i in range(2)]
        name = ChunkName("devnet", "logs", BlockRange(start, end))
        write_parquet(table(LOG_COLUMNS, rows), tmp_path / name.filename)
    blocks = [{"block_number": n, "timestamp": block_time(n)} for n in range(20)]
    columns = (Column("block_number", "u32"), Column("timestamp", "u32"))
    name = ChunkName("devnet", "blocks", BlockRange(0, 20))
    write_parquet(table(columns, blocks), tmp_path / name.filename)
    return tmp_path


def names(root: Path, dataset: str) -> list[str]:
    return [f.path.name for f in chunk_files(root, dataset=dataset)]


def logs(start: int, end: int) -> str:
    return ChunkName("devnet", "logs", BlockRange(start, end)).filename


def test_policies_parse_and_bad_ones_say_why() -> None:
    assert parse_policies(" logs:keep_days=1.5 ; *:compact=10000;") == [
        Policy("logs", "keep_days", 1.5),
        Policy("*", "compact", 10_000),
    ]
    for bad in ("logs", "logs:keep=3", "logs:keep_blocks=-1", ":compact=5", "x:keep_blocks=2.5"):
        with pytest.raises(InvalidInputError, match="retention policy"):
            parse_policies(bad)


def test_keep_blocks_dry_run_then_apply_and_log(root: Path) -> None:
    actions = plan(root, parse_policies("logs:keep_blocks=8"), now=NOW)
    assert [a.describe().split(" (")[0] for a in actions] == [
        f"delete {logs(0, 3)}", f"delete {logs(3, 6)}", f"delete {logs(6, 10)}",
        f"delete {logs(10, 12)}",
    ]  # fmt: skip
    assert names(root, "logs") == [logs(s, e) for s, e in RANGES]  # a plan changes nothing
    assert apply(root, actions) == 4
    assert names(root, "logs") == [logs(12, 20)]
    assert names(root, "blocks") == ["devnet__blocks__00000000_to_00000019.parquet"]
    lines = [json.loads(line) for line in (root / LOG_FILE).read_text().splitlines()]
    assert [(r["kind"], r["files"], r["policy"], r["dataset"]) for r in lines] == [
        ("delete", [logs(s, e)], "logs:keep_blocks=8", "logs") for s, e in RANGES[:4]
    ]
    assert all(r["bytes"] > 0 and r["at"].endswith("+00:00") for r in lines)


def test_keep_days_reads_times_from_the_blocks_dataset(root: Path) -> None:
    # chunks whose last block is older than 10.5 days: blocks 0..9 are 11 to 20 days old
    actions = plan(root, parse_policies("logs:keep_days=10.5"), now=NOW)
    assert [a.files for a in actions] == [[logs(0, 3)], [logs(3, 6)], [logs(6, 10)]]
    # the blocks chunk itself: its own timestamp column (newest block: 1 day old) keeps it
    assert plan(root, parse_policies("blocks:keep_days=2"), now=NOW) == []
    gone = plan(root, parse_policies("blocks:keep_days=0.5"), now=NOW)
    assert [a.files for a in gone] == [["devnet__blocks__00000000_to_00000019.parquet"]]


def test_compaction_merges_adjacent_chunks_of_one_window(root: Path) -> None:
    before = {path.name: pq.read_table(path).to_pylist() for path in sorted(root.glob("*logs*"))}
    actions = plan(root, parse_policies("*:compact=10"), now=NOW)
    assert [(a.kind, a.files, a.result) for a in actions] == [
        ("compact", [logs(0, 3), logs(3, 6), logs(6, 10)], logs(0, 10)),
        ("compact", [logs(10, 12), logs(12, 20)], logs(10, 20)),
    ]  # the blocks chunk spans two windows: left alone
    apply(root, actions)
    assert names(root, "logs") == [logs(0, 10), logs(10, 20)]
    merged = pq.read_table(root / logs(0, 10)).to_pylist()
    assert merged == before[logs(0, 3)] + before[logs(3, 6)] + before[logs(6, 10)]
    assert plan(root, parse_policies("*:compact=10"), now=NOW) == []  # nothing left to do


def test_an_interrupted_compaction_is_finished_by_the_next_plan(root: Path) -> None:
    rows = [{"block_number": n, "log_index": i} for n in range(0, 10) for i in range(2)]
    write_parquet(table(LOG_COLUMNS, rows), root / logs(0, 10))  # merged, sources still there
    actions = plan(root, [], now=NOW)
    assert [(a.files, a.policy) for a in actions] == [
        ([logs(s, e)], "covered by a compacted chunk") for s, e in RANGES[:3]
    ]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The CLI's catalog in a fresh SQLite database under `tmp_path`."""
    monkeypatch.setenv("TIME_MACHINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")
    get_settings.cache_clear()
    yield open_database(get_settings().database_url)
    get_settings.cache_clear()


def test_cli_dry_run_and_apply(root: Path, db: Database) -> None:
    first = str((root / logs(0, 3)).resolve())
    with db.session() as s:
        ArchiveCatalog(s).record(
            ArchiveChunk(location=first, dataset="logs", chain_id=31337, network="devnet",
                         start_block=0, end_block=3, rows=6, bytes=1, file_format="parquet",
                         compression="lz4", u256_types="", schema_version=1, sha256="00")
        )  # fmt: skip
    app = typer.Typer()
    archive_app = typer.Typer()
    register(archive_app)
    app.add_typer(archive_app, name="archive")
    runner = CliRunner()
    args = ["archive", "retention", "--policy", "logs:keep_blocks=10", "-o", str(root)]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        f"would delete {logs(s, e)} ({(root / logs(s, e)).stat().st_size:,} bytes; "
        "logs:keep_blocks=10)"
        for s, e in RANGES[:3]
    ]
    assert not (root / LOG_FILE).exists()
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[-1] == f"logged to {root / LOG_FILE}"
    assert names(root, "logs") == [logs(10, 12), logs(12, 20)]
    with db.session() as s:
        [entry] = ArchiveCatalog(s).chunks(include_deleted=True)
    assert entry.deleted_at is not None
    assert entry.note == "retention delete (logs:keep_blocks=10)"
    bad = runner.invoke(app, ["archive", "retention", "--policy", "logs:forever", "-o", str(root)])
    assert bad.exit_code == 2
    assert bad.output.startswith("error: retention policy 'logs:forever' is not")
