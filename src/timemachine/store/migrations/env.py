"""Alembic environment for the store.

Used two ways: programmatically by `timemachine.store.db.migrate` (which passes an open connection
in `config.attributes["connection"]`), and by the `alembic` CLI through the repository's
`alembic.ini` (URL from `-x url=...`, else `sqlalchemy.url`, else `Settings.database_url`).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from timemachine.store.db import create_db_engine
from timemachine.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite = table copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str | None:
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )


def _database_url() -> str:
    from timemachine.settings import get_settings

    return _url() or get_settings().database_url


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(_database_url())
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    from timemachine.settings import get_settings, normalize_database_url

    context.configure(
        url=normalize_database_url(_url() or get_settings().database_url),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
