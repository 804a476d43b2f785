"""Persistence: SQLAlchemy 2 tables, repositories, and Alembic migrations run on start.

    from timemachine.store import open_database, ReplaySessions

    db = open_database(settings.database_url)  # migrated to head
    with db.session() as s:                    # one transaction: commit on success, else rollback
        record = ReplaySessions(s).create(owner="alice", kind="transactions", request={...})

Repositories take a SQLAlchemy `Session` and return pydantic records (`timemachine.models.sessions`,
`ExploitRecord`), never ORM objects. Engine packages never import this package.
"""

from timemachine.store.alerts import AlertStore
from timemachine.store.archive import ArchiveCatalog
from timemachine.store.audit import AuditLog
from timemachine.store.catalog import UpsertCounts, get_exploit, list_exploits, upsert_catalog
from timemachine.store.credentials import ProviderCredentials
from timemachine.store.db import Database, create_db_engine, migrate, open_database
from timemachine.store.mev import MevResults
from timemachine.store.mev_jobs import MevJobs
from timemachine.store.monitor import MonitoredTxs
from timemachine.store.processed_events import exactly_once
from timemachine.store.revocations import TokenRevocations
from timemachine.store.rules import ChannelSecrets, StoredRules
from timemachine.store.sessions import ReplaySessions
from timemachine.store.tx_imports import TxImports
from timemachine.store.users import ApiKeys, RefreshTokens, Users

__all__ = [
    "AlertStore",
    "ApiKeys",
    "ArchiveCatalog",
    "AuditLog",
    "ChannelSecrets",
    "Database",
    "MevJobs",
    "MevResults",
    "MonitoredTxs",
    "ProviderCredentials",
    "RefreshTokens",
    "ReplaySessions",
    "StoredRules",
    "TokenRevocations",
    "TxImports",
    "UpsertCounts",
    "Users",
    "create_db_engine",
    "exactly_once",
    "get_exploit",
    "list_exploits",
    "migrate",
    "open_database",
    "upsert_catalog",
]
