"""The credential vault: AES-256-GCM for users' RPC provider URLs/keys at rest.

- Every encryption draws a fresh random 96-bit nonce (never reused under one key).
- The associated data binds a ciphertext to its row: owner, chain id and credential id. A
  ciphertext copied to another user's row (or another chain, or another credential) fails to
  authenticate instead of decrypting.
- Each ciphertext records the id of the key that sealed it. The key list comes from
  `TIME_MACHINE_VAULT_KEYS` (`id:base64key,...`; the first key encrypts, all of them decrypt), so
  keys rotate without downtime: put a new key first, re-encrypt (`timemachine keys rotate`), then
  drop the old one. Unset, the embedded default generates one key on first use and keeps it in
  `vault.keys` (mode 0600) in the data directory.

Key material never appears in an error message, a log line or a repr.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from timemachine.errors import InvalidInputError, VaultError
from timemachine.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_FILE = "vault.keys"
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_AAD_CONTEXT = b"timemachine/provider-credential/v1\x00"


@dataclass(frozen=True)
class Sealed:
    """One encrypted value: the ciphertext (with its 16-byte GCM tag), its nonce, its key's id."""

    ciphertext: bytes = field(repr=False)
    nonce: bytes
    key_id: str


def associated_data(owner: str, chain_id: int, credential_id: str) -> bytes:
    """The AAD binding a ciphertext to its owner, chain and row (unambiguous: JSON-encoded)."""
    return _AAD_CONTEXT + json.dumps([owner, chain_id, credential_id]).encode()


def generate_key_spec(key_id: str | None = None) -> str:
    """A new random 256-bit key as `id:base64key` (the id defaults to the date and 4 random
    bytes, e.g. `k20261123-1a2b3c4d`)."""
    key_id = key_id or f"k{dt.datetime.now(dt.UTC):%Y%m%d}-{secrets.token_hex(4)}"
    if not _KEY_ID.match(key_id):
        raise InvalidInputError(f"vault key id {key_id!r} must match {_KEY_ID.pattern}")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def parse_key_spec(spec: str) -> list[tuple[str, bytes]]:
    """`id:base64key,id:base64key` → [(id, key)], in order. Errors name the entry, never the key."""
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate((e.strip() for e in spec.split(",")), start=1):
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise VaultError(
                f"TIME_MACHINE_VAULT_KEYS entry {position} is not `id:base64key` with an id of "
                "letters, digits, '_', '.', '-'; generate one with `timemachine keys generate`"
            )
        try:
            standard = encoded.strip().replace("-", "+").replace("_", "/")  # url-safe too
            key = base64.b64decode(standard, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_BYTES:
            raise VaultError(
                f"TIME_MACHINE_VAULT_KEYS key {key_id!r} is not {KEY_BYTES} bytes of base64; "
                "generate one with `timemachine keys generate`"
            )
        if any(key_id == known for known, _ in keys):
            raise VaultError(f"TIME_MACHINE_VAULT_KEYS names key {key_id!r} twice")
        keys.append((key_id, key))
    if not keys:
        raise VaultError("TIME_MACHINE_VAULT_KEYS holds no key; expected `id:base64key,...`")
    return keys


class Vault:
    """AES-256-GCM with a key ring: the first key encrypts, every key decrypts."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise VaultError("the vault needs at least one key")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys}
        self._raw = list(keys)
        self.current_key_id = keys[0][0]

    def __repr__(self) -> str:
        return f"Vault(current={self.current_key_id!r}, keys={list(self._keys)!r})"

    @classmethod
    def from_spec(cls, spec: str) -> Vault:
        return cls(parse_key_spec(spec))

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        """The keys of TIME_MACHINE_VAULT_KEYS, else of the data directory's key file (created
        with one new key on first use)."""
        if settings.vault_keys is not None and settings.vault_keys.get_secret_value().strip():
            return cls.from_spec(settings.vault_keys.get_secret_value())
        return cls.from_spec(load_or_create_key_file(key_file(settings)))

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def spec(self) -> str:
        """The key ring as `id:base64key,...` (secret: write it only to a 0600 file)."""
        return ",".join(f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in self._raw)

    def with_key_first(self, spec: str) -> Vault:
        """This ring with the key(s) of `spec` in front (the new current key)."""
        added = parse_key_spec(spec)
        names = {key_id for key_id, _ in added}
        return Vault(added + [(k, v) for k, v in self._raw if k not in names])

    def encrypt(self, plaintext: str, aad: bytes) -> Sealed:
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = self._keys[self.current_key_id].encrypt(nonce, plaintext.encode(), aad)
        return Sealed(ciphertext=ciphertext, nonce=nonce, key_id=self.current_key_id)

    def decrypt(self, sealed: Sealed, aad: bytes) -> str:
        cipher = self._keys.get(sealed.key_id)
        if cipher is None:
            raise VaultError(
                f"credential sealed with vault key {sealed.key_id!r}, which is not in "
                f"TIME_MACHINE_VAULT_KEYS (have {', '.join(self._keys)}); add that key back, "
                "or store the credential again"
            )
        if len(sealed.nonce) != NONCE_BYTES:
            raise VaultError("stored credential has a malformed nonce; store the credential again")
        try:
            plaintext = cipher.decrypt(sealed.nonce, sealed.ciphertext, aad)
        except InvalidTag:
            raise VaultError(
                f"stored credential failed authentication under vault key {sealed.key_id!r}: "
                "it was altered, moved to another owner/chain/row, or the key is wrong; "
                "store the credential again"
            ) from None
        return plaintext.decode()


def key_file(settings: Settings) -> Path:
    assert settings.data_dir is not None
    return settings.data_dir / KEY_FILE


def load_or_create_key_file(path: Path) -> str:
    """The key spec kept in `path`; a new single-key file (mode 0600) when there is none.

    Creation is exclusive (O_EXCL), so processes starting together agree on one key."""
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    spec = generate_key_spec()
    with os.fdopen(fd, "w") as handle:
        handle.write(spec + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return spec


def write_key_file(path: Path, spec: str) -> None:
    """Replace `path` atomically with `spec` (mode 0600)."""
    parse_key_spec(spec)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(spec + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _read_key_file(path: Path) -> str:
    spec = path.read_text().strip()
    if not spec:
        raise VaultError(f"vault key file {path} is empty; restore it or delete it to start over")
    return spec


# --- hints: what the API shows instead of a stored URL --------------------------------------

MASK = "***"


def validate_provider_url(url: str) -> str:
    """The URL, stripped, if it is an http(s) URL with a host; InvalidInputError (which never
    repeats the URL, it may hold a key) otherwise."""
    url = url.strip()
    parts = urlsplit(url)
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        valid = False
    if not valid or any(ch.isspace() for ch in url):
        raise InvalidInputError(
            "the provider URL must be an http(s) URL with a host, e.g. "
            "https://eth-mainnet.g.alchemy.com/v2/<key>"
        )
    return url


def credential_hint(url: str) -> str:
    """A recognisable but harmless form of a provider URL: the scheme and the host's last two
    labels (the provider's domain), everything else masked: `https://***.alchemy.com/…`.

    Subdomains often name an account or project (`<project>.quiknode.pro`,
    `nd-123-456.p2pify.com`), paths and queries carry keys, ports and IP addresses describe
    networks: none of it is kept. The domain is enough to recognise a provider; the label
    tells two credentials of one provider apart. Idempotent: the hint of a hint is itself.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    labels = host.split(".")
    try:
        ipaddress.ip_address(host)
        shown = MASK
    except ValueError:
        if len(labels) <= 1:
            shown = MASK
        elif len(labels) == 2:
            shown = host
        else:
            shown = f"{MASK}.{'.'.join(labels[-2:])}"
    rest = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{shown}{rest}"
