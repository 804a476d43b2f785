"""SQL over the archive with DuckDB: every dataset found (chunk files under a directory, or a
given file list) is a view named after it, so `SELECT … FROM logs WHERE …` runs as a cryo user
would write it. DuckDB reads only the columns a query names and skips the Parquet row groups
whose min/max statistics exclude its filters (block range, address, topic, selector range).

`ArchiveQuery.page` is the filtered, cursor-paginated read behind `GET /api/v1/archive/{dataset}`:
the filters are built here, with bound parameters, never from text a client wrote.

A file that is not readable Parquet fails the query with one line naming it (StorageError);
a bad query is an InvalidInputError with DuckDB's first line."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from timemachine.archive.chunkfile import ChunkFile, chunk_files
from timemachine.archive.layout import ChunkName
from timemachine.archive.own.columns import u256_bytes
from timemachine.errors import InvalidInputError, NotFoundError, StorageError

MAX_PAGE = 10_000
TIME_COLUMNS = ("timestamp", "block_timestamp", "settled_at", "created_at", "finished_at")
ADDRESS_COLUMNS = (
    "address",
    "from_address",
    "to_address",
    "author",
    "contract_address",
    "action_from",
    "action_to",
    "account_address",
    "sandwicher_address",
    "liquidator_user",
    "liquidated_user",
    "bot_address",
    "pool_address",
)
"""Columns an `address` filter matches (any of those the dataset has)."""
VALUE_COLUMNS = ("value", "action_value", "profit_amount", "token_in_amount")
"""uint256 columns a `min_value` filter reads (the first the dataset has)."""
INPUT_COLUMNS = ("selector", "input", "action_input")
"""Columns a `selector` filter reads (the first the dataset has): calldata starting with it."""
_QUOTED_PATH = re.compile(r"'([^']+\.parquet)'")


@dataclass(frozen=True)
class Filters:
    """What `page` keeps: every filter given must hold (block and time ranges half-open)."""

    from_block: int | None = None
    to_block: int | None = None
    from_time: float | None = None
    to_time: float | None = None
    address: bytes | None = None
    topic0: bytes | None = None
    selector: bytes | None = None
    min_value: int | None = None


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    next_cursor: str | None = None
    arrow: pa.Table | None = field(default=None, repr=False)

    def records(self) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts (binary as 0x-hex, exact integers)."""
        return [
            {name: jsonable(value) for name, value in zip(self.columns, row, strict=True)}
            for row in self.rows
        ]


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return "0x" + bytes(value).hex()
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    return value


def _scan(paths: Sequence[Path], *, positions: bool = False) -> str:
    """`read_parquet` of these files (their columns united by name); with `positions`, each
    row's file and row number too (a stable order within a block)."""
    files = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
    extra = ", filename = true, file_row_number = true" if positions else ""
    return f"read_parquet({files}, union_by_name = true{extra})"


class ArchiveQuery:
    """The datasets of some chunk files, as DuckDB views."""

    def __init__(self, files: Sequence[ChunkFile]) -> None:
        self.chunks: dict[str, list[ChunkFile]] = {}
        for chunk in sorted(files, key=lambda f: (f.name.blocks, f.name.network)):
            self.chunks.setdefault(chunk.name.dataset, []).append(chunk)
        self.datasets = {name: [c.path for c in found] for name, found in self.chunks.items()}
        self.db = duckdb.connect(":memory:")
        self._views = False

    def _create_views(self) -> None:
        """One view per dataset (made on the first SQL statement: each reads its files' footers,
        which `page` does not need)."""
        for dataset, paths in self.datasets.items():
            self.db.execute(f'CREATE VIEW "{dataset}" AS SELECT * FROM {_scan(paths)}').fetchall()
        self._views = True

    @classmethod
    def under(cls, root: Path) -> ArchiveQuery:
        """Every chunk file under `root`."""
        return cls(chunk_files(root))

    @classmethod
    def of_paths(cls, paths: Sequence[Path]) -> ArchiveQuery:
        """These files (directories: their chunk files), each named as layout.ChunkName says."""
        files: list[ChunkFile] = []
        for path in paths:
            if path.is_dir():
                files.extend(chunk_files(path))
                continue
            name = ChunkName.parse(path.name)
            if name is None or name.fmt != "parquet" or not path.is_file():
                raise InvalidInputError(
                    f"{path} is not a Parquet archive chunk file "
                    "({network}__{dataset}__{first:08d}_to_{last:08d}.parquet)"
                )
            files.append(ChunkFile(path, name))
        return cls(files)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ArchiveQuery:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- SQL -------------------------------------------------------------------------------------

    def sql(self, text: str) -> Result:
        """Run one statement over the views."""
        try:
            with self._errors():
                if not self._views:
                    self._create_views()
                relation = self.db.sql(text)
                if relation is None:
                    return Result([], [])
                table = relation.to_arrow_table()
        except InvalidInputError as error:
            if "Catalog Error" not in error.message:
                raise
            archived = ", ".join(sorted(self.datasets)) or "none (no chunk files found)"
            raise InvalidInputError(f"{error.message}; archived datasets: {archived}") from None
        return _result(table)

    # -- the REST read: filters, cursor pages ---------------------------------------------------

    def page(
        self,
        dataset: str,
        filters: Filters,
        *,
        cursor: str | None = None,
        limit: int = 100,
        columns: Sequence[str] | None = None,
    ) -> Result:
        """Rows of `dataset` matching `filters`, by block (then as stored), `limit` at most;
        pass `next_cursor` back as `cursor` for the next page. `columns`: only these (and
        `block_number`); wide binary columns dominate the cost of a selective page."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(f"limit must be between 1 and {MAX_PAGE}, got {limit}")
        if dataset not in self.datasets:
            archived = ", ".join(sorted(self.datasets)) or "none yet"
            raise NotFoundError(f"no archived dataset {dataset!r} (archived: {archived})")
        after_block, skip = _parse_cursor(cursor)
        every = self.chunks[dataset]
        # Only the chunks a block filter leaves are read, their footers included.
        scope = _overlapping(every, max(filters.from_block or 0, after_block or 0),
                             filters.to_block) or every[-1:]  # fmt: skip
        known = self._columns(scope)
        where, params, (low, high) = self._where(dataset, known, filters)
        selected = _projection(dataset, known, columns)
        low = max(low or 0, after_block or 0)
        chunks = _overlapping(every, low, high)
        if high is not None:
            where.append("block_number < ?")
            params.append(high)
        # The first chunk's blocks first: a page they fill reads nothing else; else one query
        # over the rest (a selective filter reads each row group's filtered columns once).
        wanted, parts = limit + 1, []
        if chunks:
            bound = chunks[0].name.blocks.end
            first = [c for c in chunks if c.name.blocks.start < bound]
            rest = [c for c in chunks if c.name.blocks.end > bound]
            parts.append(self._rows(first, selected, where, params, low, bound, wanted, skip))
            wanted -= parts[0].num_rows
            if rest and wanted > 0:
                parts.append(self._rows(rest, selected, where, params, bound, None, wanted, 0))
        if not parts:
            with self._errors():
                parts.append(
                    self.db.sql(
                        f"SELECT {selected} FROM {_scan([c.path for c in scope])} LIMIT 0"
                    ).to_arrow_table()
                )
        table = pa.concat_tables(parts)
        result = _result(table.slice(0, limit))
        if table.num_rows > limit:
            result.next_cursor = _next_cursor(result, after_block, skip)
        return result

    def _rows(
        self,
        chunks: list[ChunkFile],
        selected: str,
        where: list[str],
        params: list[Any],
        low: int,
        below: int | None,
        wanted: int,
        offset: int,
    ) -> pa.Table:
        """Up to `wanted` matching rows of `chunks` from block `low` (below `below`), in order."""
        projection = "* EXCLUDE (filename, file_row_number)" if selected == "*" else selected
        conditions, params = [*where, "block_number >= ?"], [*params, low]
        if below is not None:
            conditions.append("block_number < ?")
            params.append(below)
        query = (
            f"SELECT {projection} FROM {_scan([c.path for c in chunks], positions=True)} "
            f"WHERE {' AND '.join(conditions)} "
            "ORDER BY block_number, filename, file_row_number LIMIT ? OFFSET ?"
        )
        with self._errors():
            return self.db.sql(query, params=[*params, wanted, offset]).to_arrow_table()

    def _columns(self, chunks: list[ChunkFile]) -> dict[str, str]:
        with self._errors():
            described = self.db.sql(
                f"DESCRIBE SELECT * FROM {_scan([c.path for c in chunks])}"
            ).fetchall()
        return {str(row[0]): str(row[1]) for row in described}

    def _where(
        self, dataset: str, columns: dict[str, str], filters: Filters
    ) -> tuple[list[str], list[Any], tuple[int | None, int | None]]:
        """Conditions and their parameters, and the block range (a time range on a dataset
        without a time column becomes one)."""
        where: list[str] = []
        params: list[Any] = []

        def need(found: str | None, what: str) -> str:
            if found is None:
                raise InvalidInputError(f"dataset {dataset!r} has no column to filter by {what}")
            return found

        from_block, to_block = filters.from_block, filters.to_block
        if filters.from_time is not None or filters.to_time is not None:
            time_column = next((c for c in TIME_COLUMNS if c in columns), None)
            if time_column is not None:
                for bound, op in ((filters.from_time, ">="), (filters.to_time, "<")):
                    if bound is not None:
                        where.append(f'"{time_column}" {op} ?')
                        params.append(bound)
            else:
                from_block, to_block = self._blocks_of_times(dataset, filters, from_block, to_block)
        if filters.address is not None:
            matching = [c for c in ADDRESS_COLUMNS if c in columns]
            need(matching[0] if matching else None, "address")
            where.append("(" + " OR ".join(f'"{c}" = ?' for c in matching) + ")")
            params.extend([filters.address] * len(matching))
        if filters.topic0 is not None:
            where.append(f'"{need("topic0" if "topic0" in columns else None, "topic0")}" = ?')
            params.append(filters.topic0)
        if filters.selector is not None:
            column = need(next((c for c in INPUT_COLUMNS if c in columns), None), "selector")
            where.append(f'"{column}" >= ?')
            params.append(filters.selector)
            upper = int.from_bytes(filters.selector, "big") + 1
            if upper < 1 << 32:  # calldata starting with the selector: [sel, sel + 1)
                where.append(f'"{column}" < ?')
                params.append(upper.to_bytes(4, "big"))
        if filters.min_value is not None:
            if not 0 <= filters.min_value < 1 << 256:
                raise InvalidInputError(f"min_value {filters.min_value} is not a uint256")
            base = need(next((c for c in VALUE_COLUMNS if f"{c}_binary" in columns), None), "value")
            where.append(f'"{base}_binary" >= ?')  # 32 bytes big-endian: sorts like the number
            params.append(u256_bytes(filters.min_value))
        return where, params, (from_block, to_block)

    def _blocks_of_times(
        self, dataset: str, filters: Filters, from_block: int | None, to_block: int | None
    ) -> tuple[int | None, int | None]:
        """A time range as the block range of the archived `blocks` (timestamps only grow)."""
        if "blocks" not in self.datasets:
            raise InvalidInputError(
                f"dataset {dataset!r} has no time column; archive `blocks` to filter it by time"
            )
        start = filters.from_time if filters.from_time is not None else float("-inf")
        end = filters.to_time if filters.to_time is not None else float("inf")
        with self._errors():
            row = self.db.execute(
                "SELECT min(block_number), max(block_number) FROM "
                f"{_scan(self.datasets['blocks'])} WHERE timestamp >= ? AND timestamp < ?",
                [start, end],
            ).fetchall()[0]
        if row is None or row[0] is None:
            return 0, 0  # no block in that time: nothing matches
        low, high = int(row[0]), int(row[1]) + 1
        return (
            max(low, from_block) if from_block is not None else low,
            min(high, to_block) if to_block is not None else high,
        )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except duckdb.Error as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            quoted = _QUOTED_PATH.search(first)
            if quoted is not None and isinstance(
                error, duckdb.InvalidInputException | duckdb.IOException
            ):
                raise StorageError(
                    f"archive file {quoted[1]} is not readable Parquet ({first}); move it "
                    "away or extract its range again"
                ) from None
            raise InvalidInputError(f"query failed: {first}") from None


def _overlapping(chunks: list[ChunkFile], low: int, high: int | None) -> list[ChunkFile]:
    """The chunks holding blocks of [low, high)."""
    return [
        c
        for c in chunks
        if c.name.blocks.end > low and (high is None or c.name.blocks.start < high)
    ]


def _projection(dataset: str, known: dict[str, str], columns: Sequence[str] | None) -> str:
    """The SELECT list of a page: every column, or `columns` and `block_number` (the cursor's)."""
    if not columns:
        return "*"
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InvalidInputError(
            f"dataset {dataset!r} has no column {unknown[0]!r}; it has {', '.join(known)}"
        )
    names = ["block_number", *(c for c in dict.fromkeys(columns) if c != "block_number")]
    return ", ".join(f'"{name}"' for name in names)


def _result(table: pa.Table) -> Result:
    return Result(table.column_names, [tuple(r.values()) for r in table.to_pylist()], arrow=table)


def _parse_cursor(cursor: str | None) -> tuple[int | None, int]:
    if cursor is None:
        return None, 0
    block, _, skip = cursor.partition(":")
    if not (block.isdigit() and skip.isdigit()):
        raise InvalidInputError(f"cursor {cursor!r} is not one this API returned")
    return int(block), int(skip)


def _next_cursor(page: Result, after_block: int | None, skip: int) -> str:
    """`block:rows` — the last row's block and how many of its rows were already returned."""
    blocks = [row[page.columns.index("block_number")] for row in page.rows]
    last = blocks[-1]
    seen = sum(1 for b in blocks if b == last)
    if last == after_block:
        seen += skip
    return f"{last}:{seen}"
