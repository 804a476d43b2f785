"""Rule files as data: YAML or JSON with `channels`, `watchlists` and `rules`.

    channels:
      ops-hook: {type: webhook, url: "http://127.0.0.1:9999/hook", secret: "${HOOK_SECRET}"}
    rules:
      - id: exploit-before-inclusion
        when: 'stage == "pending" and finding.severity >= "high"'
        severity: critical
        notify: [ops-hook]

`${NAME}` in a channel's string values is replaced by the environment variable NAME when the file
is loaded (a missing one is an error naming it); secrets stay `SecretStr`, never printed or
logged. Rule files themselves never hold a secret.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from typing import Any, Literal

from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from timemachine.models.analysis import Severity
from timemachine.rules.errors import RuleError
from timemachine.rules.event import Stage

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
ChannelType = Literal["webhook", "email", "slack", "discord", "telegram", "pagerduty"]


def substitute_env(text: str, environ: dict[str, str] | None = None) -> str:
    """`text` with each `${NAME}` replaced by the environment variable (RuleError if unset)."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise RuleError(f"environment variable {name} is not set (named as ${{{name}}})")
        return env[name]

    return _ENV.sub(value, text)


def seconds(value: float | str) -> float:
    """A duration: a number of seconds or text like `60s`, `5m`, `500ms`, `1h`."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a duration like 60s, 5m, 500ms or 1h")
    return float(match.group(1)) * _SECONDS[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(_Strict):
    """Where alerts go. Which fields a type needs is checked by `alerts.channels`."""

    type: ChannelType
    url: str | None = Field(default=None, description="webhook URL; base URL for the others.")
    secret: SecretStr | None = Field(
        default=None, description="webhook HMAC key, Slack/Discord/Telegram token, PD key."
    )
    chat_id: str | None = None
    to: list[str] = Field(default_factory=list, description="email recipients")
    sender: str | None = Field(default=None, alias="from")
    smtp_host: str | None = None
    smtp_port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = True
    template: str | None = Field(default=None, description="Jinja2 template overriding the default")
    max_per_hour: int | None = Field(default=None, ge=1)


class Contract(_Strict):
    """A contract in scope: its address and/or the functions and events that matter."""

    address: str | None = None
    functions: list[str] = Field(
        default_factory=list, description="Signatures `transfer(address,uint256)` or 0x selectors."
    )
    events: list[str] = Field(
        default_factory=list,
        description="Signatures `Transfer(address,address,uint256)` or topics.",
    )

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @model_validator(mode="after")
    def _refs(self) -> Contract:
        self.selectors  # noqa: B018 (checks each signature now, at load)
        self.topics  # noqa: B018
        return self

    @cached_property
    def selectors(self) -> frozenset[str]:
        return frozenset(_hash_ref(f, 4) for f in self.functions)

    @cached_property
    def topics(self) -> frozenset[str]:
        return frozenset(_hash_ref(e, 32) for e in self.events)


def _address(value: str) -> str:
    if not _HEX_ADDRESS.match(value):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte address")
    return value.lower()


def _hash_ref(ref: str, size: int) -> str:
    """A selector/topic given as hex, or the keccak prefix of a canonical signature."""
    text = ref.strip()
    if re.fullmatch(rf"0x[0-9a-fA-F]{{{size * 2}}}", text):
        return text.lower()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\([^()]*(\([^()]*\)[^()]*)*\)", text):
        raise ValueError(
            f"{ref!r} is neither a signature like name(type,...) nor 0x-hex of {size} bytes"
        )
    return "0x" + keccak(text=text.replace(" ", ""))[:size].hex()


class RuleScope(_Strict):
    """Which events a rule can match at all (what the index files it under)."""

    chains: list[str | int] = Field(default_factory=list, description="Names or chain ids.")
    stages: list[Stage] = Field(default_factory=list)
    addresses: list[str] = Field(
        default_factory=list, description="Sender, recipient or log emitter."
    )
    contracts: list[Contract] = Field(default_factory=list)

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [_address(v) for v in values]


class Threshold(_Strict):
    """Alert only once `count` matches fall within `window` (Defender's alertThreshold)."""

    count: int = Field(ge=1)
    window: float = Field(gt=0, description="Seconds, or text like 60s / 5m.")

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> float:
        return seconds(value)


class Rule(_Strict):
    id: str
    description: str = ""
    enabled: bool = True
    severity: Severity = "medium"
    when: str | None = Field(default=None, description="A condition in the rule language.")
    wasm: str | None = Field(default=None, description="A .wat/.wasm module (path; see docs).")
    scope: RuleScope = Field(default_factory=RuleScope)
    notify: list[str] = Field(default_factory=list)
    threshold: Threshold | None = None
    cooldown: float = Field(default=0, ge=0, description="Seconds (or 5m) muted after an alert.")
    dedup: bool = Field(default=True, description="One alert per tx across stages/providers.")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"rule id {value!r} must match {_ID.pattern}")
        return value

    @field_validator("cooldown", mode="before")
    @classmethod
    def _cooldown(cls, value: Any) -> float:
        return seconds(value)

    @model_validator(mode="after")
    def _has_condition(self) -> Rule:
        if self.when is None and self.wasm is None:
            raise ValueError(f"rule {self.id!r} needs `when` (an expression) or `wasm` (a module)")
        return self


class RuleFile(_Strict):
    channels: dict[str, Channel] = Field(default_factory=dict)
    watchlists: dict[str, list[str]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("watchlists")
    @classmethod
    def _watchlists(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {name: [_address(a) for a in members] for name, members in value.items()}

    @model_validator(mode="after")
    def _references(self) -> RuleFile:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)
            unknown = [name for name in rule.notify if name not in self.channels]
            if unknown:
                raise ValueError(
                    f"rule {rule.id!r} notifies unknown channel(s) {', '.join(unknown)}; "
                    f"defined: {', '.join(self.channels) or 'none'}"
                )
        return self
