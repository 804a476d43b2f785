"""Read-only SQL over the archive for untrusted callers (the API's `POST /archive/query`).

Three fences, each enough on its own for what it guards:
- the text must parse as exactly one SELECT statement (`WITH …`, `FROM …` included);
- the DuckDB connection may then read the archive's chunk files and nothing else (no other file,
  no network, no extension install, no COPY/ATTACH), with that configuration locked;
- at most `max_rows` rows come back (one more is asked for, to tell a truncated answer), and the
  statement is interrupted after `timeout` seconds."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import duckdb

from timemachine.archive.query import ArchiveQuery, Result, _result
from timemachine.errors import InvalidInputError

MEMORY_LIMIT = "1GB"


@dataclass
class Answer:
    result: Result
    truncated: bool


def single_select(text: str) -> str:
    """`text` when it is one SELECT statement; InvalidInputError saying why not otherwise."""
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as error:
        first = (str(error).strip().splitlines() or ["unparsable"])[0]
        raise InvalidInputError(f"query failed: {first}") from None
    if len(statements) != 1:
        raise InvalidInputError(f"send exactly one statement, got {len(statements)}")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise InvalidInputError(
            f"only a SELECT (or WITH … SELECT) statement is allowed, got {kind.name}"
        )
    return text


class ReadOnlyArchive(ArchiveQuery):
    """An ArchiveQuery whose connection reads only its own chunk files (locked on entering)."""

    def __enter__(self) -> ReadOnlyArchive:
        with self._errors():
            self._create_views()
            paths = [str(path) for found in self.datasets.values() for path in found]
            self.db.execute("SET allowed_paths = ?", [paths])
            self.db.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            self.db.execute("SET enable_external_access = false")
            self.db.execute("SET autoinstall_known_extensions = false")
            self.db.execute("SET autoload_known_extensions = false")
            self.db.execute("SET lock_configuration = true")
        return self

    def select(self, text: str, *, max_rows: int, timeout: float) -> Answer:
        """The rows of one SELECT (at most `max_rows`); InvalidInputError for anything else,
        a failing query, or one still running after `timeout` seconds."""
        single_select(text)
        timer = threading.Timer(timeout, self.db.interrupt)
        timer.start()
        try:
            with self._errors():
                table = self.db.sql(text).limit(max_rows + 1).to_arrow_table()
        except InvalidInputError as error:
            if "INTERRUPT" in error.message.upper() and not timer.is_alive():
                raise InvalidInputError(f"query ran longer than {timeout:g} s: stopped") from None
            raise
        finally:
            timer.cancel()
        return Answer(_result(table.slice(0, max_rows)), truncated=table.num_rows > max_rows)
