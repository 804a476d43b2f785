"""Vault key rotation: make a key current, re-encrypt every stored provider credential under it,
and (with the embedded key file) drop the keys no credential uses any more.

`timemachine keys rotate` is the shell over `rotate_keys`; the steps and their order live here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from timemachine.errors import VaultError
from timemachine.models.credentials import RotationReport
from timemachine.security.vault import (
    Vault,
    generate_key_spec,
    key_file,
    parse_key_spec,
    write_key_file,
)
from timemachine.settings import Settings
from timemachine.store import ProviderCredentials, open_database


@dataclass(frozen=True)
class KeyRotation:
    """What a rotation did: the re-encryption report, the ring's keys, and which keys no
    credential uses any more (removed from the key file when `pruned`)."""

    report: RotationReport
    key_ids: tuple[str, ...]
    unused: list[str]
    pruned: bool


def keys_from_env(settings: Settings) -> bool:
    """Whether the key ring comes from TIME_MACHINE_VAULT_KEYS (else the data directory's file)."""
    return settings.vault_keys is not None and bool(settings.vault_keys.get_secret_value().strip())


def rotate_keys(
    settings: Settings,
    *,
    generate: bool = False,
    prune: bool = False,
    show_new_ring: Callable[[str], None] | None = None,
) -> KeyRotation:
    """Re-encrypt every stored credential under the current (first) key of the ring.

    `generate` first puts a new key in front: written into the key file, or, when the keys come
    from TIME_MACHINE_VAULT_KEYS, handed to `show_new_ring` (once, before anything is
    re-encrypted) for the operator to set. `prune` (key file only) then removes the keys no
    credential uses, unless some credential failed to decrypt."""
    from_env = keys_from_env(settings)
    if prune and from_env:
        raise VaultError(
            "--prune edits the data directory's key file; with TIME_MACHINE_VAULT_KEYS, "
            "remove unused keys from the variable yourself"
        )
    vault = Vault.from_settings(settings)
    if generate:
        vault = vault.with_key_first(generate_key_spec())
        if not from_env:
            write_key_file(key_file(settings), vault.spec())
        elif show_new_ring is not None:
            show_new_ring(vault.spec())
    db = open_database(settings.database_url)
    try:
        with db.session() as s:
            report = ProviderCredentials(s, vault).reencrypt_all()
    finally:
        db.dispose()
    unused = [k for k in vault.key_ids if k != vault.current_key_id and k not in report.keys_in_use]
    pruned = prune and not report.failed
    if pruned:
        kept = [(k, v) for k, v in parse_key_spec(vault.spec()) if k not in unused]
        write_key_file(key_file(settings), Vault(kept).spec())
    return KeyRotation(report=report, key_ids=vault.key_ids, unused=unused, pruned=pruned)
