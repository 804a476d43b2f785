"""Numbers bounded to what storage holds: every integer of a request that reaches a column.

Chain ids and block numbers are stored as BIGINT (PostgreSQL) / INTEGER (SQLite): signed 64-bit;
indexes as INTEGER (PostgreSQL: signed 32-bit).
A larger value must be refused where it enters (422 with the field named), not by the database
(SQLite raises OverflowError, PostgreSQL "bigint out of range"). Text needs no type here: the
API's request guard (`api/limits.py`) refuses the NUL character, the one character no text
column holds, in every path, query string and body.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT64_MAX = 2**63 - 1
"""The largest BIGINT."""
INT32_MAX = 2**31 - 1
"""The largest INTEGER (PostgreSQL)."""

ChainId = Annotated[int, Field(gt=0, le=INT64_MAX)]
"""An EVM chain id, as stored (BIGINT)."""
BlockNumber = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A block number, as stored (BIGINT)."""
RowIndex = Annotated[int, Field(ge=0, le=INT32_MAX)]
"""A position stored as INTEGER (a transaction's index in its session)."""
