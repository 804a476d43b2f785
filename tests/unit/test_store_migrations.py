"""The migrations build exactly the ORM's schema; settings resolve the database URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, create_engine, inspect

from timemachine.errors import StorageError
from timemachine.settings import Settings, normalize_database_url
from timemachine.store import Database, migrate, open_database
from timemachine.store.db import alembic_config, create_db_engine
from timemachine.store.tables import Base


def schema_diff(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrated_schema_matches_the_orm(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert schema_diff(database) == []
        with database.engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            head = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
            assert head is not None
            assert head >= "0002"
            assert version.scalar() == head
    finally:
        database.dispose()


def test_check_constraints_match_the_orm(tmp_path: Path) -> None:
    """compare_metadata ignores CHECKs: compare them (SQLite keeps their text verbatim)."""
    database = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        inspector = inspect(database.engine)
        for table in Base.metadata.sorted_tables:
            expected = {
                str(c.name): str(c.sqltext)
                for c in table.constraints
                if isinstance(c, CheckConstraint)
            }
            reflected = {
                c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)
            }
            assert reflected == expected, table.name
    finally:
        database.dispose()


def test_an_empty_schema_differs_so_the_comparison_can_fail(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        diff = schema_diff(database)
        added = {e[1].name for e in diff if isinstance(e, tuple) and e[0] == "add_table"}
        assert added == set(Base.metadata.tables)
    finally:
        database.dispose()


def test_migrate_is_idempotent_and_downgrades_cleanly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    migrate(url)
    migrate(url)
    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
    migrate(url)
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'c.db'}")
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.dispose()


def test_default_url_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "tm", _env_file=None)
    assert settings.database_url == f"sqlite:///{tmp_path / 'tm' / 'timemachine.db'}"
    xdg = Settings(xdg_data_home=tmp_path, _env_file=None)
    assert xdg.data_dir == tmp_path / "timemachine"


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://tm:secret@db:5432/tm")
    assert Settings(_env_file=None).database_url == "postgresql+psycopg://tm:secret@db:5432/tm"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgres://u:p@h:5433/d", "postgresql+psycopg://u:p@h:5433/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_postgres_urls_get_the_psycopg_driver(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_unusable_urls_raise_storage_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="invalid DATABASE_URL"):
        create_db_engine("not a url")
    with pytest.raises(StorageError, match="cannot use database"):
        create_db_engine("mysql+nosuchdriver://u@h/d")
    with pytest.raises(StorageError, match=r"unavailable: .*check DATABASE_URL") as caught:
        migrate("postgresql://tm:hunter2@127.0.0.1:1/none")
    assert "hunter2" not in str(caught.value)
