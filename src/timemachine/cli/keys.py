"""`timemachine keys`: the credential vault's keys (generate one; rotate: re-encrypt every stored
provider credential under the current key so old keys can be removed)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from timemachine.cli.errors import fail, reported_errors
from timemachine.cli.group import command_group

keys_app = command_group(
    "Credential vault keys (TIME_MACHINE_VAULT_KEYS, or vault.keys in the data directory)."
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
    from timemachine.security.rotation import rotate_keys
    from timemachine.settings import get_settings

    def show_new_ring(spec: str) -> None:
        sys.stderr.write(
            "New key ring (shown once): set TIME_MACHINE_VAULT_KEYS to this value for "
            "the API and every worker, then restart them:\n"
        )
        typer.echo(spec)

    with reported_errors():
        rotation = rotate_keys(
            get_settings(), generate=new_key, prune=prune, show_new_ring=show_new_ring
        )
        report, unused = rotation.report, rotation.unused
        if as_json:
            typer.echo(report.model_dump_json(indent=2))
        else:
            sys.stderr.write(
                f"current key {report.current_key_id}: {report.total} credentials, "
                f"{report.reencrypted} re-encrypted, {report.already_current} already current, "
                f"{len(report.failed)} failed\n"
            )
            for key_id in rotation.key_ids:
                state = (
                    "removed"
                    if rotation.pruned and key_id in unused
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
