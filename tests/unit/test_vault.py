"""The credential vault: AES-256-GCM round trips, tamper/AAD/key failures, key files, rotation,
hints, and the repository over a real (SQLite) store."""

from __future__ import annotations

import base64
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from timemachine.cli.main import app
from timemachine.errors import InvalidInputError, NotFoundError, VaultError
from timemachine.models.credentials import Sealed, associated_data
from timemachine.security.vault import (
    NONCE_BYTES,
    Vault,
    generate_key_spec,
    key_file,
    load_or_create_key_file,
    parse_key_spec,
)
from timemachine.settings import Settings
from timemachine.store import Database, ProviderCredentials, open_database
from timemachine.store.tables import ProviderCredential
from timemachine.urls import credential_hint

SECRET = "s3cr3tAlchemyKey0123456789abcdef"
URL = f"https://eth-mainnet.g.alchemy.com/v2/{SECRET}"
AAD = associated_data("alice", 1, "cred-1")


@pytest.fixture
def vault() -> Vault:
    return Vault.from_spec(generate_key_spec("a"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'v.db'}")
    yield database
    database.dispose()


def test_round_trip_with_fresh_nonce_and_key_id(vault: Vault) -> None:
    first, second = vault.encrypt(URL, AAD), vault.encrypt(URL, AAD)
    assert first.key_id == "a"
    assert len(first.nonce) == NONCE_BYTES
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext
    assert SECRET.encode() not in first.ciphertext
    assert vault.decrypt(first, AAD) == URL
    assert SECRET not in repr(first)
    assert vault.spec().split(":")[1] not in repr(vault)


def test_tampered_ciphertext_fails_with_a_clear_error(vault: Vault) -> None:
    sealed = vault.encrypt(URL, AAD)
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(VaultError, match="failed authentication"):
        vault.decrypt(Sealed(flipped, sealed.nonce, sealed.key_id), AAD)
    with pytest.raises(VaultError, match="failed authentication"):
        vault.decrypt(Sealed(sealed.ciphertext, bytes(NONCE_BYTES), sealed.key_id), AAD)


@pytest.mark.parametrize(
    "aad",
    [
        associated_data("mallory", 1, "cred-1"),
        associated_data("alice", 56, "cred-1"),
        associated_data("alice", 1, "cred-2"),
    ],
)
def test_a_ciphertext_cannot_move_to_another_owner_chain_or_row(vault: Vault, aad: bytes) -> None:
    sealed = vault.encrypt(URL, AAD)
    with pytest.raises(VaultError, match="moved to another owner/chain/row"):
        vault.decrypt(sealed, aad)


def test_wrong_or_missing_key(vault: Vault) -> None:
    sealed = vault.encrypt(URL, AAD)
    impostor = Vault.from_spec(generate_key_spec("a"))  # same id, other key
    with pytest.raises(VaultError, match="failed authentication under vault key 'a'"):
        impostor.decrypt(sealed, AAD)
    other = Vault.from_spec(generate_key_spec("b"))
    with pytest.raises(VaultError, match="key 'a', which is not in TIME_MACHINE_VAULT_KEYS"):
        other.decrypt(sealed, AAD)


def test_key_spec_parsing_never_echoes_key_material() -> None:
    good = generate_key_spec("new")
    ring = parse_key_spec(f" {good} , {generate_key_spec('old')} ")
    assert [key_id for key_id, _ in ring] == ["new", "old"]
    assert all(len(key) == 32 for _, key in ring)
    urlsafe = "u:" + base64.urlsafe_b64encode(bytes(range(200, 232))).decode()
    assert parse_key_spec(urlsafe)[0][1] == bytes(range(200, 232))
    short = "x:" + base64.b64encode(b"tooshortkeymaterial").decode()
    with pytest.raises(VaultError, match="'x' is not 32 bytes") as caught:
        parse_key_spec(short)
    assert short.split(":")[1] not in str(caught.value)
    with pytest.raises(VaultError, match="entry 1 is not"):
        parse_key_spec("nocolon")
    with pytest.raises(VaultError, match="twice"):
        parse_key_spec(f"{generate_key_spec('d')},{generate_key_spec('d')}")
    with pytest.raises(VaultError, match="no key"):
        parse_key_spec(" , ")


def test_embedded_default_creates_one_private_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    first = Vault.from_settings(settings)
    path = key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Vault.from_settings(settings)
    assert again.key_ids == first.key_ids
    sealed = first.encrypt(URL, AAD)
    assert again.decrypt(sealed, AAD) == URL
    assert load_or_create_key_file(path) == path.read_text().strip()


def test_keys_from_settings_win_over_the_key_file(tmp_path: Path) -> None:
    spec = f"{generate_key_spec('env1')},{generate_key_spec('env0')}"
    settings = Settings(data_dir=tmp_path, vault_keys=spec, _env_file=None)
    vault = Vault.from_settings(settings)
    assert vault.key_ids == ("env1", "env0")
    assert vault.current_key_id == "env1"
    assert not key_file(settings).exists()
    assert spec not in repr(settings)


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        (URL, "https://***.alchemy.com/…"),
        (
            "https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef",
            "https://***.infura.io/…",
        ),
        (
            "https://user:hunter2pass@rpc.example.com:8443/eth?apikey=QWERTYUIOPASDFGH1234&x=1",
            "https://***.example.com/…",
        ),
        ("https://my-project-42.quiknode.pro/0123abcd/", "https://***.quiknode.pro/…"),
        ("https://rpc.ankr.com/eth/shortkey9", "https://***.ankr.com/…"),
        ("https://polygon.example/rpc", "https://polygon.example/…"),
        ("https://polygon.example", "https://polygon.example"),
        ("http://127.0.0.1:8545", "http://***"),
        ("http://[2001:db8::1]:8545/k", "http://***/…"),
        ("http://rpc-internal:8545/", "http://***"),
        ("https://***.alchemy.com/…", "https://***.alchemy.com/…"),  # idempotent
    ],
)
def test_hints_mask_secrets(url: str, hint: str) -> None:
    assert credential_hint(url) == hint


def test_repository_store_list_replace_delete(db: Database, vault: Vault) -> None:
    with db.session() as s:
        repo = ProviderCredentials(s, vault)
        stored = repo.store(owner="alice", chain_id=1, url=URL)
        assert stored.hint == "https://***.alchemy.com/…"
        replaced = repo.store(owner="alice", chain_id=1, url=URL.replace("cdef", "9999"))
        assert replaced.id == stored.id
        repo.store(owner="alice", chain_id=1, url="https://backup.example/rpc", label="backup")
        repo.store(owner="bob", chain_id=1, url="https://bob.example/rpc")
        assert [c.label for c in repo.list_by_owner("alice")] == ["backup", "default"]
        assert repo.provider_url("alice", 1) == URL.replace("cdef", "9999")
        assert repo.provider_url("alice", 56) is None
        assert repo.get("bob", stored.id) is None
        with pytest.raises(NotFoundError):
            repo.delete("bob", stored.id)
        repo.delete("alice", stored.id)
        assert repo.provider_url("alice", 1) == "https://backup.example/rpc"
        with pytest.raises(InvalidInputError, match="http") as caught:
            repo.store(owner="alice", chain_id=1, url=f"ftp://x/{SECRET}")
        assert SECRET not in str(caught.value)


def test_rows_hold_no_clear_text_and_a_moved_row_does_not_decrypt(
    db: Database, vault: Vault
) -> None:
    with db.session() as s:
        alice = ProviderCredentials(s, vault).store(owner="alice", chain_id=1, url=URL)
        ProviderCredentials(s, vault).store(owner="mallory", chain_id=1, url="https://m.example")
    with db.engine.connect() as connection:
        dump = "\n".join(connection.connection.iterdump())
    assert SECRET not in dump
    assert SECRET.encode().hex() not in dump
    with db.session() as s:  # copy alice's ciphertext into mallory's row
        row = s.get(ProviderCredential, alice.id)
        assert row is not None
        s.execute(
            update(ProviderCredential)
            .where(ProviderCredential.owner == "mallory")
            .values(ciphertext=row.ciphertext, nonce=row.nonce, key_id=row.key_id)
        )
    with db.session() as s, pytest.raises(VaultError, match="moved"):
        ProviderCredentials(s, vault).provider_url("mallory", 1)


def test_rotation_reencrypts_so_the_old_key_can_be_dropped(db: Database) -> None:
    old = Vault.from_spec(generate_key_spec("old"))
    with db.session() as s:
        for owner in ("alice", "bob", "carol"):
            ProviderCredentials(s, old).store(owner=owner, chain_id=1, url=f"{URL}{owner}")
    rotated = old.with_key_first(generate_key_spec("new"))
    assert rotated.key_ids == ("new", "old")
    with db.session() as s:
        report = ProviderCredentials(s, rotated).reencrypt_all()
    assert (report.total, report.reencrypted, report.already_current) == (3, 3, 0)
    assert report.keys_in_use == {"new": 3}
    with db.session() as s:
        assert ProviderCredentials(s, rotated).reencrypt_all().reencrypted == 0
    new_only = Vault([(k, v) for k, v in parse_key_spec(rotated.spec()) if k == "new"])
    with db.session() as s:
        assert ProviderCredentials(s, new_only).provider_url("bob", 1) == f"{URL}bob"
        with pytest.raises(VaultError):  # the old key alone no longer opens anything
            ProviderCredentials(s, old).provider_url("bob", 1)


def test_rotation_reports_rows_it_cannot_open(db: Database) -> None:
    lost = Vault.from_spec(generate_key_spec("lost"))
    with db.session() as s:
        stored = ProviderCredentials(s, lost).store(owner="alice", chain_id=1, url=URL)
    with db.session() as s:
        report = ProviderCredentials(s, Vault.from_spec(generate_key_spec("n"))).reencrypt_all()
    assert report.failed == [stored.id]
    assert report.keys_in_use == {"lost": 1}


def test_cli_rotate_with_the_embedded_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "TIME_MACHINE_VAULT_KEYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIME_MACHINE_DATA_DIR", str(tmp_path))
    settings = Settings(_env_file=None)
    from timemachine.settings import get_settings

    get_settings.cache_clear()
    db = open_database(settings.database_url)
    try:
        first = Vault.from_settings(settings)
        with db.session() as s:
            ProviderCredentials(s, first).store(owner="alice", chain_id=1, url=URL)
            ProviderCredentials(s, first).store(owner="bob", chain_id=137, url=URL + "x")
        result = CliRunner().invoke(app, ["keys", "rotate", "--generate", "--prune"])
        assert result.exit_code == 0, result.output
        assert "2 credentials, 2 re-encrypted, 0 already current, 0 failed" in result.output
        assert f"key {first.current_key_id}: removed" in result.output
        assert SECRET not in result.output
        after = Vault.from_settings(settings)
        assert after.key_ids != first.key_ids
        assert len(after.key_ids) == 1
        assert stat.S_IMODE(key_file(settings).stat().st_mode) == 0o600
        with db.session() as s:
            assert ProviderCredentials(s, after).provider_url("bob", 137) == URL + "x"
            assert set(s.scalars(select(ProviderCredential.key_id))) == set(after.key_ids)
        again = CliRunner().invoke(app, ["keys", "rotate", "--json"])
        assert again.exit_code == 0, again.output
        assert '"already_current": 2' in again.output
    finally:
        db.dispose()
        get_settings.cache_clear()


def test_cli_rotate_with_keys_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from timemachine.settings import get_settings

    old = generate_key_spec("old")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TIME_MACHINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TIME_MACHINE_VAULT_KEYS", old)
    get_settings.cache_clear()
    db = open_database(Settings(_env_file=None).database_url)
    try:
        with db.session() as s:
            ProviderCredentials(s, Vault.from_spec(old)).store(owner="a", chain_id=1, url=URL)
        monkeypatch.setenv("TIME_MACHINE_VAULT_KEYS", f"{generate_key_spec('new')},{old}")
        get_settings.cache_clear()
        result = CliRunner().invoke(app, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert "1 credentials, 1 re-encrypted" in result.output
        assert "no credential uses old any more" in result.output
        assert not (tmp_path / "vault.keys").exists()
        monkeypatch.setenv("TIME_MACHINE_VAULT_KEYS", "new:AAAA")
        get_settings.cache_clear()
        broken = CliRunner().invoke(app, ["keys", "rotate"])
        assert broken.exit_code == VaultError.exit_code
        assert "'new' is not 32 bytes" in broken.output
    finally:
        db.dispose()
        get_settings.cache_clear()
