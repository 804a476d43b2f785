"""Rule documents stored in the database (REST CRUD) and the named channel secrets they use.

- `alert_rules`: one row per rule document (the YAML/JSON of a rule file), owned by a user,
  enabled or not, with its current `version`;
- `alert_rule_versions`: every version ever written (the first one included), so an update
  never loses the previous text;
- `alert_secrets`: channel secrets sealed by the vault, named per owner (`vault:NAME` in a
  channel); the ciphertext's associated data binds it to its owner and name.

Calls that take `owner` are scoped to it (None: every owner, for admins); another owner's rule
is "not found". The store does not parse documents: `timemachine.rules.stored` compiles them.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Boolean,
    Integer,
    LargeBinary,
    String,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from timemachine.errors import NotFoundError, VaultError
from timemachine.models.credentials import Sealed
from timemachine.store.rows import owner_id
from timemachine.store.tables import Base, UtcDateTime, utcnow

RULE_ID_LENGTH = 12
"""Hex characters of a stored document's id (its rules are named `<id>:<rule id>`)."""
_SECRET_AAD = b"timemachine/alert-secret/v1:"


class AlertRuleRow(Base):
    __tablename__ = "alert_rules"

    id: Mapped[str] = mapped_column(String(RULE_ID_LENGTH), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AlertRuleVersionRow(Base):
    __tablename__ = "alert_rule_versions"

    rule_id: Mapped[str] = mapped_column(String(RULE_ID_LENGTH), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean)
    document: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class AlertSecretRow(Base):
    __tablename__ = "alert_secrets"

    owner: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class StoredRule(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: str
    owner: str
    name: str
    enabled: bool
    version: int
    document: str
    created_at: dt.datetime
    updated_at: dt.datetime


class RuleVersion(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    rule_id: str
    version: int
    name: str
    enabled: bool
    document: str
    author: str
    created_at: dt.datetime


class Cipher(Protocol):
    """What the secrets need of the vault (`timemachine.security.vault.Vault`)."""

    def encrypt(self, plaintext: str, aad: bytes) -> Sealed: ...

    def decrypt(self, sealed: Sealed, aad: bytes) -> str: ...


def _secret_aad(owner: str, name: str) -> bytes:
    return _SECRET_AAD + json.dumps([owner, name]).encode()


class StoredRules:
    """Repository of rule documents, bound to one database session (one transaction)."""

    def __init__(self, db_session: Session, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.db_session = db_session
        self.clock = clock

    def create(self, *, owner: str, name: str, document: str, enabled: bool) -> StoredRule:
        now = self.clock()
        row = AlertRuleRow(
            id=uuid.uuid4().hex[:RULE_ID_LENGTH], owner=owner_id(owner), name=name,
            enabled=enabled, version=1, document=document, created_at=now, updated_at=now,
        )  # fmt: skip
        self.db_session.add(row)
        self._keep_version(row, author=row.owner)
        self.db_session.flush()
        return StoredRule.model_validate(row)

    def update(
        self,
        rule_id: str,
        *,
        owner: str | None,
        author: str,
        name: str | None = None,
        document: str | None = None,
        enabled: bool | None = None,
    ) -> StoredRule:
        """A new version with the given fields changed (the others kept)."""
        row = self._row(rule_id, owner)
        row.name = name if name is not None else row.name
        row.document = document if document is not None else row.document
        row.enabled = enabled if enabled is not None else row.enabled
        row.version += 1
        row.updated_at = self.clock()
        self._keep_version(row, author=author)
        self.db_session.flush()
        return StoredRule.model_validate(row)

    def delete(self, rule_id: str, *, owner: str | None) -> None:
        row = self._row(rule_id, owner)
        self.db_session.execute(
            delete(AlertRuleVersionRow).where(AlertRuleVersionRow.rule_id == row.id)
        )
        self.db_session.delete(row)

    def get(self, rule_id: str, *, owner: str | None) -> StoredRule:
        return StoredRule.model_validate(self._row(rule_id, owner))

    def owned(self, *, owner: str | None) -> list[StoredRule]:
        query = select(AlertRuleRow).order_by(AlertRuleRow.created_at, AlertRuleRow.id)
        if owner is not None:
            query = query.where(AlertRuleRow.owner == owner)
        return [StoredRule.model_validate(r) for r in self.db_session.scalars(query)]

    def enabled(self) -> list[StoredRule]:
        """Every owner's enabled documents, oldest first (what the engine loads)."""
        query = select(AlertRuleRow).where(AlertRuleRow.enabled.is_(True))
        rows = self.db_session.scalars(query.order_by(AlertRuleRow.created_at, AlertRuleRow.id))
        return [StoredRule.model_validate(r) for r in rows]

    def versions(self, rule_id: str, *, owner: str | None) -> list[RuleVersion]:
        """Every version of the rule, newest first."""
        row = self._row(rule_id, owner)
        query = (
            select(AlertRuleVersionRow)
            .where(AlertRuleVersionRow.rule_id == row.id)
            .order_by(AlertRuleVersionRow.version.desc())
        )
        return [RuleVersion.model_validate(v) for v in self.db_session.scalars(query)]

    def fingerprint(self) -> tuple[int, int, dt.datetime | None]:
        """Changes whenever a document is created, updated or deleted (the engine polls it):
        (number of documents, sum of their versions, latest update)."""
        count, versions, latest = self.db_session.execute(
            select(
                func.count(AlertRuleRow.id),
                func.coalesce(func.sum(AlertRuleRow.version), 0),
                func.max(AlertRuleRow.updated_at),
            )
        ).one()
        return int(count), int(versions), latest

    def _row(self, rule_id: str, owner: str | None) -> AlertRuleRow:
        row = self.db_session.get(AlertRuleRow, rule_id)
        if row is None or (owner is not None and row.owner != owner):
            raise NotFoundError(f"no rule {rule_id!r}")
        return row

    def _keep_version(self, row: AlertRuleRow, *, author: str) -> None:
        self.db_session.add(
            AlertRuleVersionRow(
                rule_id=row.id,
                version=row.version,
                name=row.name,
                enabled=row.enabled,
                document=row.document,
                author=author,
                created_at=row.updated_at,
            )
        )


class ChannelSecrets:
    """Channel secrets sealed by the vault, per owner and name (`vault:NAME` in a channel)."""

    def __init__(
        self,
        db_session: Session,
        vault: Cipher | None = None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.db_session = db_session
        self.vault = vault
        """Needed to store or reveal a secret, not to list or delete one."""
        self.clock = clock

    def _vault(self) -> Cipher:
        if self.vault is None:
            raise VaultError("channel secrets need the vault")
        return self.vault

    def put(self, owner: str, name: str, value: str) -> None:
        owner = owner_id(owner)
        sealed = self._vault().encrypt(value, _secret_aad(owner, name))
        row = self.db_session.get(AlertSecretRow, (owner, name)) or AlertSecretRow(
            owner=owner, name=name
        )
        row.ciphertext, row.nonce, row.key_id = sealed.ciphertext, sealed.nonce, sealed.key_id
        row.updated_at = self.clock()
        self.db_session.add(row)
        self.db_session.flush()

    def names(self, owner: str) -> list[str]:
        query = select(AlertSecretRow.name).where(AlertSecretRow.owner == owner)
        return list(self.db_session.scalars(query.order_by(AlertSecretRow.name)))

    def delete(self, owner: str, name: str) -> None:
        row = self.db_session.get(AlertSecretRow, (owner, name))
        if row is None:
            raise NotFoundError(f"no channel secret {name!r}")
        self.db_session.delete(row)

    def reveal(self, owner: str, name: str) -> str | None:
        """The secret's value (None if `owner` has no secret `name`)."""
        row = self.db_session.get(AlertSecretRow, (owner, name))
        if row is None:
            return None
        sealed = Sealed(ciphertext=row.ciphertext, nonce=row.nonce, key_id=row.key_id)
        return self._vault().decrypt(sealed, _secret_aad(owner, name))
