"""Users' RPC provider credentials, encrypted with the vault (`timemachine.security.vault`).

Rows hold the AES-256-GCM ciphertext, its nonce and the id of the key that sealed it; the
associated data is (owner, chain id, row id), so a ciphertext copied to another row does not
decrypt. Everything read back for display is a `ProviderCredentialRecord`, which carries only the
redacted hint. `provider_url` (for the workers) is the one place a URL is decrypted.

Calls that take `owner` are scoped to it: another owner's credential is "not found".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timemachine.errors import InvalidInputError, NotFoundError, VaultError
from timemachine.models.credentials import (
    DEFAULT_LABEL,
    MAX_URL_LENGTH,
    ProviderCredentialRecord,
    RotationReport,
    Sealed,
    associated_data,
)
from timemachine.store.rows import owner_id
from timemachine.store.sessions import Clock
from timemachine.store.tables import ProviderCredential, utcnow
from timemachine.urls import credential_hint, validate_provider_url

_MAX_HINT = 300


class Cipher(Protocol):
    """What the repository needs of the vault (`timemachine.security.vault.Vault`): the store
    sits below `security`, so it names the shape, not the class."""

    current_key_id: str

    def encrypt(self, plaintext: str, aad: bytes) -> Sealed: ...

    def decrypt(self, sealed: Sealed, aad: bytes) -> str: ...


class ProviderCredentials:
    """Repository of provider credentials, bound to one database session (one transaction)."""

    def __init__(self, db_session: Session, vault: Cipher, *, clock: Clock = utcnow) -> None:
        self.db_session = db_session
        self.vault = vault
        self.clock = clock

    def store(
        self, *, owner: str, chain_id: int, url: str, label: str = DEFAULT_LABEL
    ) -> ProviderCredentialRecord:
        """Encrypt and store `url` for (owner, chain, label), replacing what was there."""
        owner = owner_id(owner)
        if chain_id <= 0:
            raise InvalidInputError(f"chain id must be positive, got {chain_id}")
        if len(url) > MAX_URL_LENGTH:
            raise InvalidInputError(f"the provider URL is longer than {MAX_URL_LENGTH} characters")
        if not label or len(label) > 100:
            raise InvalidInputError("label must be 1–100 characters")
        url = validate_provider_url(url)
        hint = credential_hint(url)[:_MAX_HINT]
        now = self.clock()
        row = self._find(owner, chain_id, label)
        if row is None:
            row = ProviderCredential(
                id=str(uuid.uuid4()),
                owner=owner,
                chain_id=chain_id,
                label=label,
                created_at=now,
            )
            self._seal(row, url, hint, now)
            try:
                with self.db_session.begin_nested():
                    self.db_session.add(row)
            except IntegrityError:  # another request stored the same (owner, chain, label)
                row = self._find(owner, chain_id, label)
                if row is None:
                    raise
                self._seal(row, url, hint, now)
        else:
            self._seal(row, url, hint, now)
        self.db_session.flush()
        return ProviderCredentialRecord.model_validate(row)

    def list_by_owner(
        self, owner: str, *, chain_id: int | None = None
    ) -> list[ProviderCredentialRecord]:
        """The owner's credentials (hints only), by chain then label."""
        query = select(ProviderCredential).where(ProviderCredential.owner == owner_id(owner))
        if chain_id is not None:
            query = query.where(ProviderCredential.chain_id == chain_id)
        query = query.order_by(ProviderCredential.chain_id, ProviderCredential.label)
        return [ProviderCredentialRecord.model_validate(r) for r in self.db_session.scalars(query)]

    def get(self, owner: str, credential_id: str) -> ProviderCredentialRecord | None:
        row = self._row(owner, credential_id)
        return None if row is None else ProviderCredentialRecord.model_validate(row)

    def delete(self, owner: str, credential_id: str) -> ProviderCredentialRecord:
        """Delete the owner's credential; NotFoundError when the owner has no such credential."""
        row = self._row(owner, credential_id)
        if row is None:
            raise NotFoundError(f"no credential {credential_id!r}")
        record = ProviderCredentialRecord.model_validate(row)
        self.db_session.delete(row)
        self.db_session.flush()
        return record

    def provider_url(self, owner: str, chain_id: int) -> str | None:
        """The decrypted URL the owner stored for `chain_id` (label `default` first, else the
        most recently updated), None when there is none. For the workers only."""
        query = (
            select(ProviderCredential)
            .where(
                ProviderCredential.owner == owner_id(owner),
                ProviderCredential.chain_id == chain_id,
            )
            .order_by(
                (ProviderCredential.label == DEFAULT_LABEL).desc(),
                ProviderCredential.updated_at.desc(),
                ProviderCredential.id,
            )
            .limit(1)
        )
        row = self.db_session.scalars(query).first()
        return None if row is None else self._open(row)

    def reencrypt_all(self) -> RotationReport:
        """Re-encrypt every credential not yet under the vault's current key."""
        total = reencrypted = current = 0
        failed: list[str] = []
        rows = self.db_session.scalars(select(ProviderCredential).order_by(ProviderCredential.id))
        for row in rows:
            total += 1
            if row.key_id == self.vault.current_key_id:
                current += 1
                continue
            try:
                url = self._open(row)
            except VaultError:
                failed.append(row.id)
                continue
            self._seal(row, url, row.hint, row.updated_at)
            reencrypted += 1
        self.db_session.flush()
        return RotationReport(
            current_key_id=self.vault.current_key_id,
            total=total,
            reencrypted=reencrypted,
            already_current=current,
            failed=failed,
            keys_in_use=self.keys_in_use(),
        )

    def keys_in_use(self) -> dict[str, int]:
        counts = self.db_session.execute(
            select(ProviderCredential.key_id, func.count()).group_by(ProviderCredential.key_id)
        )
        return dict(Counter({key_id: int(n) for key_id, n in counts}))

    # -- helpers -------------------------------------------------------------------------------

    def _find(self, owner: str, chain_id: int, label: str) -> ProviderCredential | None:
        return self.db_session.scalars(
            select(ProviderCredential).where(
                ProviderCredential.owner == owner,
                ProviderCredential.chain_id == chain_id,
                ProviderCredential.label == label,
            )
        ).first()

    def _row(self, owner: str, credential_id: str) -> ProviderCredential | None:
        row = self.db_session.get(ProviderCredential, credential_id)
        return row if row is not None and row.owner == owner_id(owner) else None

    def _seal(self, row: ProviderCredential, url: str, hint: str, now: dt.datetime) -> None:
        sealed = self.vault.encrypt(url, associated_data(row.owner, row.chain_id, row.id))
        row.ciphertext, row.nonce, row.key_id = sealed.ciphertext, sealed.nonce, sealed.key_id
        row.hint = hint
        row.updated_at = now

    def _open(self, row: ProviderCredential) -> str:
        sealed = Sealed(ciphertext=row.ciphertext, nonce=row.nonce, key_id=row.key_id)
        return self.vault.decrypt(sealed, associated_data(row.owner, row.chain_id, row.id))


def has_credential(db_session: Session, owner: str, chain_id: int) -> bool:
    """Whether `owner` stored a provider credential for `chain_id` (no decryption, no vault)."""
    query = select(ProviderCredential.id).where(
        ProviderCredential.owner == owner.strip(), ProviderCredential.chain_id == chain_id
    )
    return db_session.scalars(query.limit(1)).first() is not None
