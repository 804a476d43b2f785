"""Schemas of the credential vault: what a user sends (a provider URL, kept secret) and what
anyone ever gets back (a redacted hint, never the URL)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

MAX_URL_LENGTH = 2048
DEFAULT_LABEL = "default"
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


class ProviderCredentialCreate(BaseModel):
    """Store (or replace) the RPC provider URL of one chain under a label."""

    model_config = ConfigDict(extra="forbid")

    chain_id: int = Field(gt=0, le=2**53, description="The chain the provider serves.")
    url: SecretStr = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="The provider's http(s) URL, key included (e.g. "
        "https://eth-mainnet.g.alchemy.com/v2/<key>). Stored encrypted; never returned.",
    )
    label: str = Field(
        default=DEFAULT_LABEL,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Tells several providers of one chain apart; storing again under the same "
        "(chain, label) replaces the URL.",
    )

    @model_validator(mode="before")
    @classmethod
    def _hide_url_early(cls, data: Any) -> Any:
        """Wrap the URL before any validation: a validation error echoes its input (e.g. the
        whole body when another field is missing), and a SecretStr echoes as `**********`."""
        if isinstance(data, dict) and isinstance(data.get("url"), str):
            return {**data, "url": SecretStr(data["url"])}
        return data


class ProviderCredentialRecord(BaseModel):
    """A stored credential as shown to its owner: the hint only, never the URL."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    owner: str
    chain_id: int
    label: str
    hint: str = Field(description="The URL with its secret parts masked.")
    key_id: str = Field(description="The vault key that encrypted it (for rotation).")
    created_at: dt.datetime
    updated_at: dt.datetime


class RotationReport(BaseModel):
    """What `keys rotate` did."""

    current_key_id: str
    total: int
    reencrypted: int
    already_current: int
    failed: list[str] = Field(default_factory=list, description="Ids that could not be opened.")
    keys_in_use: dict[str, int] = Field(description="Credentials per key id, after rotating.")
