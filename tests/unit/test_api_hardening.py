"""Issue 13, in process: the recursion cap, the 422 that cannot fail, storage errors that name
nothing, security headers (API, HTML report, token answers), the docs from local assets, and the
bounded parsers behind imports, Solidity sources and the store. The same attacks against a live
server: tests/integration/test_service_hardening.py."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from pathlib import Path

import pytest
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.unit.api_support import (
    PASSWORD,
    client,
    completed_session,
    isolated_env,
    make_settings,
    user,
)
from timemachine.api import create_app
from timemachine.api.security_headers import API_CSP, REPORT_CSP
from timemachine.api.validation import STORAGE_UNAVAILABLE, validation_error
from timemachine.errors import CompileError, InvalidInputError
from timemachine.orchestration.tx_imports import parse_import
from timemachine.solidity import compile_file
from timemachine.store import Database
from timemachine.store.tables import ImportedTx
from timemachine.untrusted import MAX_SOLIDITY_BYTES, SERVICE_RECURSION_LIMIT, load_json

__all__ = ["client", "isolated_env"]  # fixtures


def test_the_api_runs_under_a_capped_recursion_limit(isolated_env: Path) -> None:
    import py_ecc  # noqa: F401 - imported by the engine: it lifts the limit to 100,000

    before = sys.getrecursionlimit()
    assert before >= 100_000
    with TestClient(create_app(make_settings(isolated_env))):
        assert sys.getrecursionlimit() == SERVICE_RECURSION_LIMIT
    assert sys.getrecursionlimit() == before  # restored for whatever else runs in this process


async def test_a_422_echoing_nan_is_still_a_422() -> None:
    error = RequestValidationError(
        [{"type": "finite_number", "loc": ("body", "x"), "msg": "m", "input": float("nan")}]
    )
    response = await validation_error(None, error)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert json.loads(bytes(response.body))["detail"][0]["input"] == "nan"


def test_a_storage_error_names_no_database(client: TestClient) -> None:
    db: Database = client.app.state.timemachine.db  # type: ignore[attr-defined]
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE users RENAME TO users_gone")
    try:
        response = client.post("/api/auth/login", json={"username": "x", "password": "y"})
    finally:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE users_gone RENAME TO users")
    assert response.status_code == 503
    assert response.json() == {"error": "StorageError", "detail": STORAGE_UNAVAILABLE}


def test_the_store_turns_values_it_cannot_hold_into_invalid_input(client: TestClient) -> None:
    db: Database = client.app.state.timemachine.db  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError, match="signed 64-bit"), db.session() as s:
        s.execute(select(ImportedTx).where(ImportedTx.chain_id == 2**64)).all()


def test_security_headers_on_api_answers_and_rejections(client: TestClient) -> None:
    for response in (
        client.get("/api/time-machine/sessions"),
        client.get("/api/no/such/route"),
        client.post("/api/auth/login", content=b"[" * 50 + b"]" * 50),  # the guard's 400
        client.get("/api/time-machine/sessions/a%00b"),  # the guard's 422
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == API_CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"


def test_token_answers_are_never_cached(client: TestClient) -> None:
    user(client, "tokens")
    login = client.post("/api/auth/login", json={"username": "tokens", "password": PASSWORD})
    refresh = client.post(
        "/api/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
    )
    key = client.post("/api/auth/api-keys", json={"name": "k", "scopes": ["sessions:read"]})
    for response in (login, refresh, key):
        assert response.status_code in (200, 201), response.text
        assert response.headers["cache-control"] == "no-store"


def test_the_html_report_may_style_itself_but_run_no_script(client: TestClient) -> None:
    record = completed_session(client)
    html = client.get(f"/api/time-machine/sessions/{record.id}/report", params={"format": "html"})
    assert html.status_code == 200
    assert html.headers["content-security-policy"] == REPORT_CSP
    assert "script-src" not in REPORT_CSP  # falls back to default-src 'none'
    assert "<svg" in html.text  # the inline SVG and styles the policy allows


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_docs_pages_load_nothing_from_another_origin(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert re.search(r"https?://", response.text) is None  # no CDN
    policy = response.headers["content-security-policy"]
    for script in re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy  # the page's own inline script, nothing else
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', response.text):
        assert client.get(asset).status_code == 200


def test_only_the_known_docs_assets_are_served(client: TestClient) -> None:
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/docs/assets/..%2f__init__.py").status_code == 404
    assert client.get("/docs/assets/core.py").status_code == 404


def test_nested_json_inside_an_import_is_refused_before_parsing(client: TestClient) -> None:
    depth = 99_000
    response = client.post(
        "/api/time-machine/imports",
        json={"format": "json", "content": "[" * depth + "]" * depth},
    )
    assert response.status_code == 400
    assert "nests JSON deeper than 64 levels" in response.json()["detail"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("hash,chain\n" + "0x" + "ab" * 32 + ",1\n" * 3000 + "x\x00y\n", "NUL"),
        ('[{"hash": "0x' + "ab" * 32 + '", "chain": 1, "label": "a\\u0000"}]', "NUL"),
    ],
)
def test_imports_refuse_what_no_column_holds(data: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_import(data, default_chain="ethereum")


def test_an_imported_row_with_an_infinite_number_is_a_row_error() -> None:
    parsed = parse_import('[{"hash": "0x' + "ab" * 32 + '", "chain": 1, "x": 1e999}]')
    assert parsed.items == []
    assert "not plain JSON" in parsed.errors[0].reason


def test_the_json_reader_refuses_non_finite_numbers() -> None:
    for text in ("[NaN]", '{"a": -Infinity}', "[1e400]"):
        with pytest.raises(InvalidInputError):
            load_json(text, what="x")
    assert load_json('{"NaN": "Infinity"}', what="x") == {"NaN": "Infinity"}


def test_solidity_sources_are_bounded_before_compiling(tmp_path: Path) -> None:
    big = tmp_path / "Big.sol"
    big.write_text("pragma solidity 0.8.20;\n" + "//" * MAX_SOLIDITY_BYTES)
    with pytest.raises(CompileError, match="the limit for one Solidity source"):
        compile_file(big)
    nul = tmp_path / "Nul.sol"
    nul.write_text("pragma solidity 0.8.20;\ncontract A {}\x00")
    with pytest.raises(InvalidInputError, match="NUL"):
        compile_file(nul)


def test_analysts_see_the_health_status_only(client: TestClient) -> None:
    body = client.get("/api/system/health").json()  # the client is the analyst ANALYST
    assert set(body) == {"status"}
