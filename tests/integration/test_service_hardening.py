"""Issue 13's input attacks replayed against a live `timemachine serve --api-only` process, on the
embedded SQLite default and on PostgreSQL: a JSON list nested 99,000 deep inside an import's
`content` string (it killed the API with SIGSEGV), chain ids past 64 bits, NaN/Infinity, NUL
bytes in bodies, paths and query strings (before login too), a database that goes away; and the
anonymous health answer, the security headers and the docs page. After each attack the same
process must still answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.integration.conftest import POSTGRES_ADMIN_URL
from tests.integration.service_support import LiveServer, live_server, server_env

pytestmark = pytest.mark.integration
HUGE = 2**64
DEEP = 99_000
TX = "0x" + "ab" * 32


class Live:
    """The module's `serve --api-only`, its database URL and an admin token for it."""

    def __init__(self, server: LiveServer, db_url: str) -> None:
        self.server = server
        self.log = server.log
        self.db_url = db_url
        self.admin = server.admin_headers()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", 30)
        return self.server.request(method, path, **kwargs)

    def assert_alive(self) -> None:
        assert self.server.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
        assert self.request("GET", "/api/system/health").status_code in (200, 503)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """One server per backend for the whole module: every test also checks it is still up."""
    tmp_path = tmp_path_factory.mktemp(f"serve-{request.param}")
    env = server_env() | {"TIME_MACHINE_DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    if request.param == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    with live_server(tmp_path, ["--api-only"], env, stop_timeout=15) as server:
        sqlite = f"sqlite:///{tmp_path / 'timemachine.db'}"
        yield Live(server, env.get("DATABASE_URL", sqlite))


def _no_database_details(response: httpx.Response, live: Live) -> None:
    body = response.text.lower()
    for word in ("postgres", "sqlite", "psycopg", "5432", "127.0.0.1", "select ", "insert "):
        assert word not in body, (word, response.text)
    database = make_url(live.db_url).database or ""
    assert database.lower() not in body


def test_nested_import_content_is_refused_and_the_process_survives(live: Live) -> None:
    content = "[" * DEEP + "]" * DEEP  # inside the string: the body itself nests 1 deep
    response = live.request(
        "POST",
        "/api/time-machine/imports",
        json={"format": "json", "content": content},
        headers=live.admin,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "InvalidInputError"
    assert "nests JSON deeper than 64 levels" in response.json()["detail"]
    live.assert_alive()
    # The body itself nested as deep: refused before parsing, same process.
    deep_body = b"[" * DEEP + b"]" * DEEP
    response = live.request(
        "POST",
        "/api/auth/login",
        content=deep_body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    live.assert_alive()


@pytest.mark.parametrize(
    ("method", "path", "body", "params"),
    [
        ("POST", "/api/time-machine/replay/transactions/start",
         {"transactions": [{"hash": TX, "chain_id": HUGE}]}, None),
        ("POST", "/api/time-machine/replay/transactions/start",
         {"transactions": [{"hash": TX, "block_number": HUGE}]}, None),
        ("POST", "/api/time-machine/whatif/start", {"tx_hash": TX, "chain_id": HUGE}, None),
        ("POST", "/api/time-machine/whatif/start", {"tx_hash": TX, "at_block": HUGE}, None),
        ("POST", "/api/time-machine/verify-fix/start",
         {"tx_hash": TX, "chain_id": HUGE, "patches": [{"address": "0x" + "11" * 20,
                                                         "artifact": "EtherBankFixed"}]}, None),
        ("POST", "/api/time-machine/imports/nope/replay", {"chain_id": HUGE}, None),
        ("GET", "/api/credentials", None, {"chain_id": str(HUGE)}),
        ("GET", "/api/time-machine/sessions/nope/report", None, {"tx_index": str(HUGE)}),
    ],
)  # fmt: skip
def test_numbers_past_what_the_database_holds_are_422(
    live: Live, method: str, path: str, body: Any, params: Any
) -> None:
    response = live.request(method, path, json=body, params=params, headers=live.admin)
    assert response.status_code == 422, response.text
    _no_database_details(response, live)


def test_a_huge_chain_id_in_an_imported_row_is_a_row_error(live: Live) -> None:
    csv = f"hash,chain_id\n{TX},{HUGE}\n"  # chain ids of imports come from the registry
    response = live.request(
        "POST",
        "/api/time-machine/imports",
        json={"format": "csv", "content": csv},
        headers=live.admin,
    )
    assert response.status_code == 201, response.text
    assert response.json()["rejected"] == 1  # no such chain id: a row error, not a 5xx
    assert "unknown chain" in response.json()["errors"][0]["reason"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"transactions": [{"hash": "' + TX.encode() + b'", "chain_id": NaN}]}',
        b'{"transactions": [{"hash": "' + TX.encode() + b'", "block_number": Infinity}]}',
        b'{"age_hours": -Infinity}',
    ],
)
def test_nan_and_infinity_are_422(live: Live, body: bytes) -> None:
    response = live.request(
        "POST",
        "/api/time-machine/replay/transactions/start",
        content=body,
        headers={**live.admin, "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "NaN or Infinity" in response.json()["detail"][0]["msg"]
    live.assert_alive()


def test_nul_is_422_everywhere_before_login_too(live: Live) -> None:
    attempts = [
        ("POST", "/api/auth/login", {"json": {"username": "ad\x00min", "password": "x"}}),
        ("POST", "/api/auth/refresh", {"json": {"refresh_token": "a\x00b"}}),
        ("GET", "/api/time-machine/sessions/ab%00cd", {"headers": live.admin}),
        ("GET", "/api/admin/audit", {"params": {"user": "a\x00"}, "headers": live.admin}),
        ("GET", "/api/time-machine/imports/x%00", {"headers": live.admin}),
        ("POST", "/api/auth/api-keys", {"json": {"name": "k\x00"}, "headers": live.admin}),
        (
            "POST",
            "/api/admin/users",
            {
                "json": {"username": "bob\x00", "password": "a long passphrase", "role": "viewer"},
                "headers": live.admin,
            },
        ),
    ]
    for method, path, kwargs in attempts:
        response = live.request(method, path, **kwargs)
        assert response.status_code == 422, (path, response.text)
        assert "NUL" in response.text
        _no_database_details(response, live)
    live.assert_alive()


def test_anonymous_health_is_the_status_alone_and_admins_see_components(live: Live) -> None:
    anonymous = live.request("GET", "/api/system/health")
    assert set(anonymous.json()) == {"status"}
    assert str(live.log.parent) not in anonymous.text
    admin = live.request("GET", "/api/system/health", headers=live.admin).json()
    assert set(admin["components"]) == {"database", "broker", "redis", "anvil", "disk", "forks"}


def test_security_headers_and_local_docs(live: Live) -> None:
    login = live.request(
        "POST", "/api/auth/login", json={"username": "nobody", "password": "wrong password"}
    )
    for response in (login, live.request("GET", "/api/system/health")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
    docs = live.request("GET", "/docs")
    assert docs.status_code == 200
    assert "http://" not in docs.text  # no CDN, no other origin
    assert "https://" not in docs.text
    assert "script-src 'self' 'sha256-" in docs.headers["content-security-policy"]
    script = live.request("GET", "/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text[:2000]


def test_a_lost_database_is_a_generic_503(live: Live) -> None:
    """PostgreSQL refuses every connection; SQLite loses the users table (driver errors that
    name the database). Runs last: it breaks the server's storage, then restores it."""
    if live.db_url.startswith("postgresql"):
        name = make_url(live.db_url).database
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        statements = (
            [
                f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false',
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
            ],
            [f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'],
        )
    else:
        admin = create_engine(f"sqlite:///{live.log.parent / 'timemachine.db'}")
        statements = (
            ["ALTER TABLE users RENAME TO users_gone"],
            ["ALTER TABLE users_gone RENAME TO users"],
        )
    try:
        with admin.begin() as connection:
            for statement in statements[0]:
                connection.execute(text(statement))
        response = live.request(
            "POST", "/api/auth/login", json={"username": "admin", "password": "whatever it is"}
        )
        assert response.status_code == 503, response.text
        assert response.json() == {
            "error": "StorageError",
            "detail": "storage unavailable; try again later",
        }
        _no_database_details(response, live)
    finally:
        with admin.begin() as connection:
            for statement in statements[1]:
                connection.execute(text(statement))
        admin.dispose()
    live.assert_alive()
