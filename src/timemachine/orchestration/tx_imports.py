"""Transaction import: CSV or JSON lists (or an RPC scan) validated row by row, then stored.

Rows are validated one by one: a bad row is reported with where it is (CSV: the 1-based line of
the file, the header being line 1; JSON: the array index) and why, and the good rows are kept.
A transaction named twice in one file is stored once (the rows merge: later block, label and
metadata win) and the repeat counts as a duplicate. Good rows are stored in batches through
`TxImports`, which upserts per (owner, chain, hash): importing the same file again stores
nothing new and counts every good row as a duplicate. The batches of one import are gathered
under one import id (`TxImport` row), so the whole import can be replayed by that id.

Columns (CSV header, or JSON object keys), case-insensitive: `hash` (required), `chain` (or
`chain_id`: a registry name, alias or numeric id; `--chain` gives the default), `block` (or
`block_number`; decimal or 0x hex) and `label` (both optional). Every other column is kept as
metadata (empty CSV cells are left out).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from timemachine.chain.registry import ChainInfo, find_chain
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.models.sessions import TxImportItem
from timemachine.models.tx_imports import (
    BatchTarget,
    DuplicateRow,
    ImportReport,
    ParsedImport,
    RowError,
)
from timemachine.store import Database, TxImports
from timemachine.store.rows import json_payload
from timemachine.untrusted import NUL_MESSAGE, load_json

BATCH_SIZE = 500
_PAGE = 500  # rows per page when reading an import back
MAX_FILE_BYTES = 64 * 1024 * 1024
HASH_KEYS = ("hash", "tx_hash", "transaction_hash")
CHAIN_KEYS = ("chain", "chain_id")
BLOCK_KEYS = ("block", "block_number")
LABEL_KEYS = ("label",)

Progress = Callable[[int, int], None]
"""Called with (rows stored so far, rows to store) after each stored batch."""


# ---------------------------------------------------------------- reading a file


def read_import_file(
    path: Path, *, default_chain: str | int | None = None, file_format: str | None = None
) -> ParsedImport:
    """Read and validate `path` (CSV or JSON, by extension or by its first character)."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInputError(
                f"{path} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} (split the file)"
            )
        data = path.read_bytes()
    except IsADirectoryError:
        raise InvalidInputError(f"{path} is a directory, not a CSV or JSON file") from None
    except OSError as error:
        raise InvalidInputError(f"cannot read {path}: {error.strerror or error}") from None
    if file_format is None:
        suffix = path.suffix.lower()
        file_format = {".csv": "csv", ".json": "json"}.get(suffix)
    return parse_import(data, default_chain=default_chain, file_format=file_format, name=str(path))


def parse_import(
    data: bytes | str,
    *,
    default_chain: str | int | None = None,
    file_format: str | None = None,
    name: str = "the input",
) -> ParsedImport:
    """Validate a CSV or JSON list row by row (format sniffed when not given)."""
    text = _decode(data, name)
    if not text.strip():
        raise InvalidInputError(f"{name} is empty; expected a CSV file or a JSON list")
    chain = _default_chain(default_chain)
    if file_format is None:
        file_format = "json" if text.lstrip()[:1] in ("[", "{") else "csv"
    if file_format == "json":
        return parse_json(text, default_chain=chain, name=name)
    if file_format == "csv":
        return parse_csv(text, default_chain=chain, name=name)
    raise InvalidInputError(f"unknown import format {file_format!r}; use csv or json")


def _decode(data: bytes | str, name: str) -> str:
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        if b"\x00" in data[:4096]:
            raise InvalidInputError(f"{name} is binary, not a CSV file or a JSON list")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InvalidInputError(
                f"{name} is not UTF-8 text (byte {error.start}); expected a CSV file or a JSON list"
            ) from None
    if "\x00" in text:  # no database text column can hold it
        raise InvalidInputError(f"{name} {NUL_MESSAGE}")
    return text


def _default_chain(value: str | int | None) -> ChainInfo | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return find_chain(str(value))
    except InvalidInputError:
        raise InvalidInputError(
            f"unknown chain {value!r} for --chain; give a chain name (ethereum, bsc, …) or id"
        ) from None


class _Collector:
    """Validated rows, merged per (chain, hash), with errors and duplicates."""

    def __init__(self) -> None:
        self.parsed = ParsedImport()
        self._where: dict[tuple[int, str], int] = {}  # key -> position in parsed.items

    def reject(self, line: int, reason: str) -> None:
        self.parsed.errors.append(RowError(line=line, reason=reason))

    def add(self, line: int, item: TxImportItem) -> None:
        key = (item.chain_id, item.hash)
        position = self._where.get(key)
        if position is None:
            self._where[key] = len(self.parsed.items)
            self.parsed.items.append(item)
            self.parsed.item_lines.append(line)
            return
        first = self.parsed.items[position]
        first_line = self.parsed.item_lines[position]
        if item.block is not None and first.block is not None and item.block != first.block:
            self.reject(
                line,
                f"{item.hash} is listed on line {first_line} with block {first.block}, "
                f"here with block {item.block}",
            )
            return
        self.parsed.items[position] = TxImportItem(
            chain_id=first.chain_id,
            hash=first.hash,
            block=item.block if item.block is not None else first.block,
            label=item.label if item.label is not None else first.label,
            metadata={**first.metadata, **item.metadata},
        )
        self.parsed.duplicates.append(DuplicateRow(line=line, first_line=first_line))


def parse_csv(text: str, *, default_chain: ChainInfo | None, name: str) -> ParsedImport:
    """CSV with a header row; line numbers are the file's, the header being line 1."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as error:
        raise InvalidInputError(f"{name} is not valid CSV (line 1: {error})") from None
    columns = [cell.strip().lower() for cell in header]
    _check_header(columns, default_chain, name)
    rows = _Collector()
    line = reader.line_num
    while True:
        start = line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # The csv module cannot resume after a malformed quote: the rest is unreadable.
            rows.reject(start, f"malformed CSV ({error}); the rest of the file was not read")
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) != len(columns):
            rows.reject(
                start, f"expected {len(columns)} cells (as in the header), found {len(cells)}"
            )
            continue
        record = {column: cell.strip() for column, cell in zip(columns, cells, strict=True)}
        _validate(rows, start, record, default_chain, from_csv=True)
    return rows.parsed


def _check_header(columns: list[str], default_chain: ChainInfo | None, name: str) -> None:
    if not any(key in columns for key in HASH_KEYS):
        shown = ", ".join(c or "(empty)" for c in columns[:10])
        raise InvalidInputError(
            f"{name}: the CSV header (line 1) has no 'hash' column (found: {shown}); the first "
            "line must name the columns: hash, chain, block, label, …"
        )
    if default_chain is None and not any(key in columns for key in CHAIN_KEYS):
        raise InvalidInputError(
            f"{name}: no 'chain' column and no default chain; add the column or pass --chain"
        )
    named = [c for c in columns if c]
    repeated = sorted({c for c in named if named.count(c) > 1})
    if repeated:
        raise InvalidInputError(f"{name}: the CSV header repeats column(s) {', '.join(repeated)}")
    if "" in columns:
        raise InvalidInputError(
            f"{name}: the CSV header (line 1) has an empty column name (column "
            f"{columns.index('') + 1})"
        )


def parse_json(text: str, *, default_chain: ChainInfo | None, name: str) -> ParsedImport:
    """A JSON list of objects; errors name the array index. Nesting is bounded before parsing
    (`load_json`); NaN and Infinity parse and are then refused row by row."""
    document = load_json(text, what=name, finite=False)
    if not isinstance(document, list):
        raise InvalidInputError(
            f"the JSON in {name} is {_json_kind(document)}, not a list of transactions "
            '([{"hash": "0x…", "chain": "ethereum"}, …])'
        )
    rows = _Collector()
    for index, element in enumerate(document):
        if not isinstance(element, dict):
            rows.reject(index, f"expected an object with a 'hash' key, found {_json_kind(element)}")
            continue
        record = {str(key).strip().lower(): value for key, value in element.items()}
        _validate(rows, index, record, default_chain, from_csv=False)
    return rows.parsed


def _json_kind(value: object) -> str:
    kinds = {
        list: "a list",
        dict: "an object",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    return kinds.get(type(value), "a number")


def _validate(
    rows: _Collector,
    line: int,
    record: Mapping[str, Any],
    default_chain: ChainInfo | None,
    *,
    from_csv: bool,
) -> None:
    try:
        item = _item(record, default_chain, from_csv=from_csv)
    except (InvalidInputError, ValueError) as error:
        rows.reject(line, str(error))
        return
    rows.add(line, item)


def _pick(record: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        if key in record:
            return record[key]
    return None


def _item(
    record: Mapping[str, Any], default_chain: ChainInfo | None, *, from_csv: bool
) -> TxImportItem:
    raw_hash = _pick(record, HASH_KEYS)
    if raw_hash is None or raw_hash == "":
        raise ValueError("no transaction hash (the 'hash' cell is empty or missing)")
    if not isinstance(raw_hash, str):
        raise ValueError(f"hash must be a string, found {_json_kind(raw_hash)}")
    chain = _chain(_pick(record, CHAIN_KEYS), default_chain)
    block = _block(_pick(record, BLOCK_KEYS))
    label = _pick(record, LABEL_KEYS)
    if label is not None and not isinstance(label, str):
        raise ValueError(f"label must be a string, found {_json_kind(label)}")
    if label is not None and len(label) > 200:
        raise ValueError(f"label is {len(label)} characters; the limit is 200")
    known = {*HASH_KEYS, *CHAIN_KEYS, *BLOCK_KEYS, *LABEL_KEYS}
    metadata: dict[str, Any] = {}
    if not from_csv and isinstance(record.get("metadata"), dict):
        metadata.update(record["metadata"])
    for key, value in record.items():
        if key in known or (key == "metadata" and not from_csv) or (from_csv and value == ""):
            continue
        metadata[key] = value
    json_payload(metadata, what="metadata")
    try:
        return TxImportItem(
            chain_id=chain.chain_id,
            hash=raw_hash,
            block=block,
            label=label or None,
            metadata=metadata,
        )
    except ValidationError as error:
        raise ValueError(
            "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())
        ) from None


def _chain(value: Any, default_chain: ChainInfo | None) -> ChainInfo:
    if value is None or value == "":
        if default_chain is None:
            raise ValueError("no chain (the cell is empty and no --chain default was given)")
        return default_chain
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"chain must be a name or an id, found {_json_kind(value)}")
    try:
        return find_chain(str(value))
    except InvalidInputError:
        raise ValueError(f"unknown chain {value!r}") from None


def _block(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("block must be a non-negative integer, found a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            number = int(text, 16) if text.lower().startswith("0x") else int(text, 10)
        except ValueError:
            raise ValueError(f"block must be a non-negative integer, found {value!r}") from None
    else:
        raise ValueError(f"block must be a non-negative integer, found {value!r}")
    if number < 0:
        raise ValueError(f"block must be a non-negative integer, found {value!r}")
    return number


# ---------------------------------------------------------------- storing


def store_import(
    database: Database,
    owner: str,
    source: str,
    parsed: ParsedImport,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Store the good rows in batches (one transaction each) under one import id."""
    if batch_size < 1:
        raise InvalidInputError("batch size must be at least 1")
    accepted = 0
    stored_duplicates = 0
    import_id: str | None = None
    total = len(parsed.items)
    for start in range(0, total, batch_size):
        chunk = parsed.items[start : start + batch_size]
        with database.session() as s:
            imports = TxImports(s)
            record = imports.import_transactions(owner, source, chunk)
            if import_id is None:
                import_id = record.id
            else:
                imports.merge_batch(record, into=import_id)
        accepted += record.accepted
        stored_duplicates += record.duplicates
        if progress is not None:
            progress(start + len(chunk), total)
    return ImportReport(
        accepted=accepted,
        rejected=len(parsed.errors),
        duplicates=stored_duplicates + len(parsed.duplicates),
        errors=parsed.errors,
        import_id=import_id,
        items=parsed.items,
    )


def import_file(
    database: Database,
    path: Path,
    *,
    owner: str,
    default_chain: str | int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Read, validate and store one file."""
    parsed = read_import_file(path, default_chain=default_chain)
    return store_import(
        database, owner, path.name, parsed, batch_size=batch_size, progress=progress
    )


def items_from_scan(
    transactions: Iterable[Mapping[str, Any]], chain_id: int, *, label: str | None = None
) -> ParsedImport:
    """Scanned transactions (chain/scan.py) as import rows (metadata: from, to, index)."""
    rows = _Collector()
    for position, tx in enumerate(transactions):
        item = TxImportItem(
            chain_id=chain_id,
            hash=str(tx["hash"]),
            block=int(tx["block"]),
            label=label,
            metadata={key: tx[key] for key in ("from", "to", "index") if tx.get(key) is not None},
        )
        rows.add(position, item)
    return rows.parsed


def import_targets(database: Database, owner: str, import_id: str) -> list[BatchTarget]:
    """The transactions an import brought in, as batch replay targets (import order)."""
    targets: list[BatchTarget] = []
    offset = 0
    with database.session() as s:
        repository = TxImports(s)
        while True:
            page = repository.list_transactions(
                owner, import_id=import_id, limit=_PAGE, offset=offset
            )
            targets += [
                BatchTarget(hash=tx.hash, chain_id=tx.chain_id, block=tx.block, label=tx.label)
                for tx in page.items
            ]
            offset += len(page.items)
            if not page.items or offset >= page.total:
                break
    if not targets:
        raise NotFoundError(
            f"import {import_id!r} of owner {owner!r} holds no transactions (unknown id, another "
            "owner, or every row was a duplicate of an earlier import)"
        )
    return targets


def item_targets(items: Iterable[TxImportItem]) -> list[BatchTarget]:
    """Good import rows as batch replay targets."""
    return [
        BatchTarget(hash=item.hash, chain_id=item.chain_id, block=item.block, label=item.label)
        for item in items
    ]
