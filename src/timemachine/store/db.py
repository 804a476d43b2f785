"""Engines, sessions and migrations.

Synchronous SQLAlchemy only, on purpose: the repositories run short transactions (one row, or one
bulk statement), Celery workers are synchronous, and FastAPI runs plain `def` endpoints in its
thread pool — so one code path serves the API, the workers and the CLI. An async engine would need
a second driver setup (greenlet + psycopg async / aiosqlite) and a second copy of every repository
for no measurable gain at this size.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, and every
transaction starts with `BEGIN IMMEDIATE`: writers queue on the lock instead of failing with
"database is locked" when a read transaction later tries to write. PostgreSQL goes through psycopg
v3 with pre-ping (a restarted server costs one retry, not an error).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker

from timemachine.errors import ConflictError, InvalidInputError, StorageError, TimeMachineError
from timemachine.settings import normalize_database_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10
_LOCK_KEY = 0x74696D656D  # "timem": the advisory lock migrations hold on PostgreSQL
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def redacted(url: str) -> str:
    """The URL with its password hidden (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "<unparsable database URL>"


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url` (`Settings.database_url`), set up for its backend."""
    url = normalize_database_url(url)
    try:
        parsed = make_url(url)
    except SQLAlchemyError as error:
        raise StorageError(f"invalid DATABASE_URL {url!r}: {error}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    try:
        return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)
    except (SQLAlchemyError, ImportError) as error:
        raise StorageError(f"cannot use database {redacted(url)}: {error}") from None


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """Translate driver errors into the error tree at the boundary (TimeMachineErrors pass).

    A value the column cannot hold (a number past 64 bits, text with NUL, text too long) is the
    caller's input: InvalidInputError. Requests are bounded before they get here
    (`models/bounds.py`, the API's request guard); this is the backstop."""
    try:
        yield
    except TimeMachineError:
        raise
    except IntegrityError as error:
        raise ConflictError(
            f"the database refused a conflicting write: {_first_line(error)}"
        ) from error
    except DataError as error:
        raise InvalidInputError(
            f"the database cannot store a value given: {_first_line(error)}"
        ) from error
    except OverflowError as error:  # sqlite3 binding an int past 64 bits
        raise InvalidInputError(
            "a number given is beyond what the database stores (signed 64-bit)"
        ) from error
    except OperationalError as error:
        raise StorageError(
            f"database {redacted(url)} unavailable: {_first_line(error)}; check DATABASE_URL "
            "and that the server is up"
        ) from error
    except DBAPIError as error:
        raise StorageError(
            f"database {redacted(url)} refused the operation: {_first_line(error)}"
        ) from error


def _first_line(error: DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig else str(error)


class Database:
    """An engine plus a session factory. `with db.session() as s:` is one transaction."""

    def __init__(self, url: str = "", *, engine: Engine | None = None) -> None:
        """`url`: the database (`Settings.database_url`); or an existing `engine`."""
        if engine is None and not url:
            raise ValueError("Database needs a URL or an engine")
        self.engine = engine if engine is not None else create_db_engine(url)
        self.url = self.engine.url.render_as_string(hide_password=False)
        self._db_sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with storage_errors(self.url), self._db_sessions() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest revision (see `migrate`)."""
        migrate(self.url, engine=self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, migrate_schema: bool = True) -> Database:
    """The database at `url` (`Settings.database_url`), migrated to the newest schema."""
    database = Database(url)
    if migrate_schema:
        database.migrate()
    return database


def alembic_config(database_url: str | None = None) -> Any:
    """An Alembic `Config` for the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if database_url is not None:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(database_url: str, *, engine: Engine | None = None) -> None:
    """Upgrade the database at `database_url` to the newest revision (idempotent; safe on start).

    Runs the packaged Alembic migrations programmatically. The same revisions serve SQLite and
    PostgreSQL.
    """
    from alembic import command

    url = normalize_database_url(database_url)
    own_engine = engine is None
    engine = engine if engine is not None else create_db_engine(url)
    config = alembic_config(url)
    try:
        with storage_errors(url), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several workers starting at once: one migrates, the others wait, then no-op.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if own_engine:
            engine.dispose()
