"""`timemachine keys`: the credential vault's keys (generate one; rotate: re-encrypt every stored
provider credential under the current key so old keys can be removed)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from timemachine.cli.errors import fail, reported_errors

keys_app = typer.Typer(
    help="Credential vault keys (TIME_MACHINE_VAULT_KEYS, or vault.keys in the data directory).",
    no_args_is_help=True,
)


@keys_app.command("generate")
def generate(
    key_id: Annotated[
        str | None, typer.Option("--id", help="Key id (default: k<date>-<random>).")
    ] = None,
) -> None:
    """Print a new random AES-256 key as `id:base64key` (put it first in the key list)."""
    from timemachine.security.vault import generate_key_spec

    with reported_errors():
        typer.echo(generate_key_spec(key_id))


@keys_app.command("rotate")
def rotate(
    new_key: Annotated[
        bool,
        typer.Option(
            "--generate",
            help="Make a new key the current one first: written into the data directory's key "
            "file, or printed once when the keys come from TIME_MACHINE_VAULT_KEYS.",
        ),
    ] = False,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Key file only: afterwards remove the keys no credential uses any more.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Re-encrypt every stored provider credential under the current (first) vault key.

    Put a new key first in TIME_MACHINE_VAULT_KEYS (keep the old ones after it), run this, and
    once it reports that no credential uses an old key, remove that key and restart the API and
    workers. With the embedded key file, `--generate --prune` does all of that in one go.
    """
    from timemachine.errors import VaultError
    from timemachine.security.vault import (
        Vault,
        generate_key_spec,
        key_file,
        parse_key_spec,
        write_key_file,
    )
    from timemachine.settings import get_settings
    from timemachine.store import ProviderCredentials, open_database

    settings = get_settings()
    from_env = settings.vault_keys is not None and bool(
        settings.vault_keys.get_secret_value().strip()
    )
    with reported_errors():
        if prune and from_env:
            raise VaultError(
                "--prune edits the data directory's key file; with TIME_MACHINE_VAULT_KEYS, "
                "remove unused keys from the variable yourself"
            )
        vault = Vault.from_settings(settings)
        if new_key:
            vault = vault.with_key_first(generate_key_spec())
            if from_env:
                sys.stderr.write(
                    "New key ring (shown once): set TIME_MACHINE_VAULT_KEYS to this value for "
                    "the API and every worker, then restart them:\n"
                )
                typer.echo(vault.spec())
            else:
                write_key_file(key_file(settings), vault.spec())
        db = open_database(settings.database_url)
        try:
            with db.session() as s:
                report = ProviderCredentials(s, vault).reencrypt_all()
        finally:
            db.dispose()
        unused = [
            k for k in vault.key_ids if k != vault.current_key_id and k not in report.keys_in_use
        ]
        if prune and not report.failed:
            kept = [(k, v) for k, v in parse_key_spec(vault.spec()) if k not in unused]
            write_key_file(key_file(settings), Vault(kept).spec())
        if as_json:
            typer.echo(report.model_dump_json(indent=2))
        else:
            sys.stderr.write(
                f"current key {report.current_key_id}: {report.total} credentials, "
                f"{report.reencrypted} re-encrypted, {report.already_current} already current, "
                f"{len(report.failed)} failed\n"
            )
            for key_id in vault.key_ids:
                state = (
                    "removed"
                    if prune and not report.failed and key_id in unused
                    else f"{report.keys_in_use.get(key_id, 0)} credentials"
                )
                sys.stderr.write(f"  key {key_id}: {state}\n")
            if unused and not prune:
                sys.stderr.write(
                    f"no credential uses {', '.join(unused)} any more: remove it from the key "
                    "list and restart the API and workers\n"
                )
        if report.failed:
            fail(
                f"{len(report.failed)} credentials could not be decrypted with the configured "
                f"keys ({', '.join(report.failed[:10])}); add their key back, or ask their "
                "owners to store them again",
                VaultError.exit_code,
            )
