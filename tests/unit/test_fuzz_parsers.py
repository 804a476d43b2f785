"""Fuzzing every parser of user content (hypothesis; bounded: `max_examples` and a deadline per
test, well under a minute in all).

The property is the same everywhere: whatever the input, the parser returns or raises one of the
project's own errors (`TimeMachineError`; pydantic's `ValidationError` for request models, which
the API answers with 422) — never anything else, never a crash, never a hang. Hostile shapes are
mixed into the random ones: nesting far past every limit (as deep as the 99,000 that killed the
API), NUL characters and escapes, NaN/Infinity, numbers past 64 bits, UTF-16 bodies, quadratic
regex bait (long runs of whitespace and newlines).
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import timedelta
from typing import Any

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from starlette.types import Message, Receive, Scope, Send

from tests.unit.test_capsule_io import document, encoded
from timemachine.api.limits import MAX_BODY_BYTES, BodyLimitMiddleware
from timemachine.errors import TimeMachineError
from timemachine.models.auth import ApiKeyCreate, LoginRequest, RefreshRequest, UserCreate
from timemachine.models.bounds import INT32_MAX, INT64_MAX
from timemachine.models.requests import (
    ImportReplayRequest,
    ImportRequest,
    TransactionsReplayRequest,
    VerifyFixStartRequest,
    WhatIfStartRequest,
)
from timemachine.orchestration.tx_imports import parse_import
from timemachine.replay.capsule_io import MAX_NESTING, load_capsule
from timemachine.solidity import compiler_series
from timemachine.untrusted import MAX_JSON_DEPTH, json_depth, load_json, scan_json

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=5),  # a quadratic blow-up on these sizes takes far longer
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same cases on every run: CI and a developer see the same thing
    database=None,
)

# ---------------------------------------------------------------- strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
HOSTILE_FRAGMENTS = [
    "[" * 99_000,
    "]" * 99_000,
    "{" * 2_000,
    '{"a":' * 100,
    "NaN",
    "-Infinity",
    "Infinity",
    "\x00",
    "\\u0000",
    "\\\\u0000",
    '"',
    "\\",
    "\n" * 50_000,
    " \t" * 20_000,
    str(2**64),
    "1e999",
    "\ufeff",
    "\ud800",
    "pragma solidity ",
]


def hostile_text() -> st.SearchStrategy[str]:
    """Text built from random pieces and pieces chosen to break parsers."""
    piece = st.sampled_from(HOSTILE_FRAGMENTS) | st.text(max_size=30)
    return st.lists(piece, max_size=8).map("".join)


def json_texts() -> st.SearchStrategy[str]:
    """Valid JSON (random values, lists of rows) and hostile near-JSON."""
    rows = st.lists(
        st.fixed_dictionaries(
            {"hash": st.text(max_size=70) | st.just("0x" + "ab" * 32)},
            optional={
                "chain": st.sampled_from(["ethereum", "1", "bsc", str(2**64), "0x" + "f" * 40])
                | scalars,
                "block": scalars,
                "label": scalars,
                "metadata": json_values,
            },
        ),
        max_size=6,
    )
    return (
        json_values.map(json.dumps)
        | rows.map(json.dumps)
        | hostile_text()
        | st.integers(min_value=1, max_value=120_000).map(lambda n: "[" * n + "]" * n)
    )


def only_our_errors(call: Any, *args: Any, **kwargs: Any) -> Any:
    """`call(...)`, with the project's errors swallowed (returning None) and anything else
    failing the test."""
    try:
        return call(*args, **kwargs)
    except TimeMachineError:
        return None


# ---------------------------------------------------------------- the bounded JSON reader


@FUZZ
@given(json_texts())
def test_load_json_refuses_or_parses(text: str) -> None:
    for document_ in (
        text,
        text.encode("utf-8", "surrogatepass"),
        text.encode("utf-16", "surrogatepass"),
    ):
        value = only_our_errors(load_json, document_, what="fuzz")
        if value is not None:
            assert json_depth(document_) <= MAX_JSON_DEPTH
            assert _depth(value) <= MAX_JSON_DEPTH
            assert not _non_finite(value)


@FUZZ
@given(json_values)
def test_the_scan_agrees_with_the_parser(value: Any) -> None:
    text = json.dumps(value)
    assert json_depth(text) == _depth(value)
    assert scan_json(text).nul == ("\\u0000" in text)
    assert not scan_json(text).non_finite


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_non_finite(item) for item in value)
    if isinstance(value, dict):
        return any(_non_finite(item) for item in value.values())
    return False


# ---------------------------------------------------------------- imports (JSON and CSV)


@FUZZ
@given(json_texts(), st.sampled_from([None, "ethereum", "1", str(2**64)]))
def test_json_import_parser(text: str, chain: str | None) -> None:
    parsed = only_our_errors(parse_import, text, default_chain=chain, file_format="json")
    if parsed is not None:
        for item in parsed.items:
            assert 0 < item.chain_id <= INT64_MAX
            assert item.block is None or 0 <= item.block <= INT64_MAX
            assert "\x00" not in (item.label or "")


csv_cells = st.sampled_from(
    ["0x" + "ab" * 32, "ethereum", "1", str(2**64), "0x10", "-1", "", '"', '"a""b"', "\x00", "1e9"]
) | st.text(max_size=20)
csv_texts = st.lists(st.lists(csv_cells, min_size=1, max_size=5).map(",".join), max_size=8).map(
    lambda lines: "\n".join(["hash,chain,block,label", *lines])
)


@FUZZ
@given(csv_texts | hostile_text(), st.sampled_from([None, "ethereum"]))
def test_csv_import_parser(text: str, chain: str | None) -> None:
    data: list[str | bytes] = [text, text.encode("utf-8", "surrogatepass")]
    for item in data:
        parsed = only_our_errors(parse_import, item, default_chain=chain, file_format="csv")
        if parsed is not None:
            assert all(0 < row.chain_id <= INT64_MAX for row in parsed.items)


# ---------------------------------------------------------------- capsules


def _mutations() -> st.SearchStrategy[bytes]:
    valid = encoded(document())
    mutated = st.tuples(
        st.integers(min_value=0, max_value=len(valid) - 1), st.binary(min_size=1, max_size=8)
    ).map(lambda cut: valid[: cut[0]] + cut[1] + valid[cut[0] + len(cut[1]) :])
    changed = st.dictionaries(
        st.sampled_from(["chain_id", "version", "format", "hardfork", "accounts", "transactions"]),
        json_values,
        max_size=3,
    ).map(lambda patch: encoded(document() | patch))
    as_bytes = hostile_text().map(lambda text: text.encode("utf-8", "surrogatepass"))
    return mutated | changed | st.binary(max_size=200) | as_bytes


@FUZZ
@given(_mutations(), st.booleans())
def test_capsule_reader(data: bytes, compress: bool) -> None:
    if compress:
        data = zstandard.ZstdCompressor(level=1).compress(data)
    capsule = only_our_errors(load_capsule, data)
    if capsule is not None:
        assert 0 < capsule.chain_id <= INT64_MAX


def test_capsule_decompression_bomb_is_refused() -> None:
    bomb = zstandard.ZstdCompressor(level=19).compress(b"[" * (MAX_NESTING + 1) + b" " * 2**24)
    assert len(bomb) < 4096  # a few KiB that inflate to 16 MiB
    with pytest.raises(TimeMachineError, match="nests JSON deeper"):
        load_capsule(bomb)


# ---------------------------------------------------------------- request models


REQUEST_MODELS: list[type[BaseModel]] = [
    TransactionsReplayRequest,
    WhatIfStartRequest,
    VerifyFixStartRequest,
    ImportRequest,
    ImportReplayRequest,
    LoginRequest,
    RefreshRequest,
    ApiKeyCreate,
    UserCreate,
]
numbers = st.sampled_from([0, 1, -1, INT32_MAX + 1, INT64_MAX, INT64_MAX + 1, 2**64, 2**256])
fields = st.dictionaries(
    st.sampled_from(
        ["transactions", "chain_id", "block_number", "at_block", "tx_hash", "offset", "limit",
         "patches", "format", "content", "username", "password", "name", "scopes", "hash",
         "refresh_token", "scenario_id", "overrides", "before", "drop", "role"]
    ),
    numbers | json_values | st.just([{"hash": "0x" + "ab" * 32, "chain_id": 2**64}]),
    max_size=6,
)  # fmt: skip


@FUZZ
@given(st.sampled_from(REQUEST_MODELS), fields)
def test_request_models_refuse_or_bound(model: type[BaseModel], data: dict[str, Any]) -> None:
    try:
        parsed = model.model_validate(data)
    except ValidationError:
        return
    for name in ("chain_id", "at_block", "block_number"):
        value = getattr(parsed, name, None)
        assert value is None or 0 <= value <= INT64_MAX
    for tx in getattr(parsed, "transactions", []):
        assert tx.chain_id is None or 0 < tx.chain_id <= INT64_MAX
        assert tx.block_number is None or 0 <= tx.block_number <= INT64_MAX


# ---------------------------------------------------------------- Solidity source intake


@FUZZ
@given(hostile_text())
def test_solidity_pragma_reader(text: str) -> None:
    series = only_our_errors(compiler_series, "fuzz.sol", text)
    assert series in (None, "0.7", "0.8")


# ---------------------------------------------------------------- the API's request guard


async def _through_guard(body: bytes, content_type: bytes, path: str) -> int:
    """The status the guard answers with, or 200 when it lets the request through."""
    answered: list[int] = []

    async def downstream(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["body"] == body  # the application sees the body untouched
        answered.append(200)

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answered.append(message["status"])

    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "query_string": b"",
        "headers": [(b"content-type", content_type)],
    }
    await BodyLimitMiddleware(downstream)(scope, receive, send)
    return answered[0]


@FUZZ
@given(
    json_texts(),
    st.sampled_from(["utf-8", "utf-16", "utf-32"]),
    st.sampled_from([b"application/json", b"application/x-www-form-urlencoded", b"text/plain"]),
    st.sampled_from(["/api/x", "/api/x\x00", "/api/%00"]),
)
def test_request_guard(text: str, encoding: str, content_type: bytes, path: str) -> None:
    body = text.encode(encoding, "surrogatepass")
    status = asyncio.run(_through_guard(body, content_type, path))
    assert status in (200, 400, 413, 422)
    if status == 200 and content_type == b"application/json":
        value = json.loads(body) if _parses(body) else None
        assert _depth(value) <= 32
        assert not _non_finite(value)
    if path != "/api/x":
        assert status == 422  # NUL in the path: refused before the body is read
    elif len(body) > MAX_BODY_BYTES:
        assert status == 413


def _parses(body: bytes) -> bool:
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return False
    return True
