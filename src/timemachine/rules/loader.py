"""Load a rule file: parse YAML/JSON, substitute `${ENV}` and `vault:NAME` in channels, validate,
compile every condition and WASM module. Every problem is one `RuleError` naming the rule and the
reason."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from timemachine.rules.errors import RuleError
from timemachine.rules.expr import Compiled, Scope, compile_condition
from timemachine.rules.model import Channel, Rule, RuleFile, substitute_env
from timemachine.rules.wasm import WasmRule

MAX_FILE_BYTES = 8 * 1024 * 1024
VAULT_PREFIX = "vault:"
Secrets = Callable[[str], str | None]
"""A channel secret by name (from the vault), None when there is none by that name."""


@dataclass
class CompiledRule:
    """A rule ready to run: its checked condition and/or its WASM module."""

    rule: Rule
    ordinal: int
    condition: Compiled | None = None
    wasm: WasmRule | None = None
    error: str | None = field(default=None)
    """Why the rule was disabled while running (a trapping WASM module)."""


@dataclass(frozen=True)
class RuleSet:
    channels: Mapping[str, Channel]
    rules: tuple[CompiledRule, ...]
    owners: Mapping[str, str] = field(default_factory=dict)
    """Rule id → the user owning it (stored rules; a file's rules have none)."""


def parse_document(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RuleError(f"{source} is not valid YAML/JSON{where}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RuleError(f"{source}: expected a mapping with `rules` (and `channels`, `watchlists`)")
    return data


def _vault_secret(value: str, secrets: Secrets | None) -> str:
    name = value.removeprefix(VAULT_PREFIX).strip()
    found = secrets(name) if secrets is not None and name else None
    if found is None:
        raise RuleError(
            f"channel secret {value!r} is not in the vault; store it with "
            f"`timemachine rules secret set {name or 'NAME'}` (or PUT /rules/secrets/NAME)"
        )
    return found


def _substitute(value: Any, environ: Mapping[str, str] | None, secrets: Secrets | None) -> Any:
    if isinstance(value, str):
        if value.startswith(VAULT_PREFIX):
            return _vault_secret(value, secrets)
        return substitute_env(value, dict(environ) if environ is not None else None)
    if isinstance(value, list):
        return [_substitute(v, environ, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, environ, secrets) for k, v in value.items()}
    return value


def validate_document(
    data: Mapping[str, Any],
    source: str,
    environ: Mapping[str, str] | None = None,
    secrets: Secrets | None = None,
) -> RuleFile:
    """The document as a `RuleFile`; a channel value `vault:NAME` is the vault's secret NAME,
    `${NAME}` inside one the environment variable NAME."""
    document = dict(data)
    if isinstance(document.get("channels"), dict):
        document["channels"] = _substitute(document["channels"], environ, secrets)
    try:
        return RuleFile.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise RuleError(f"{source}: {where}: {message}{more}") from None


def compile_rules(document: RuleFile, base: Path | None = None) -> RuleSet:
    """Compile every rule's condition and module (relative module paths from `base`)."""
    scope = Scope({name: frozenset(m) for name, m in document.watchlists.items()})
    compiled: list[CompiledRule] = []
    for ordinal, rule in enumerate(document.rules):
        try:
            condition = compile_condition(rule.when, scope) if rule.when is not None else None
            wasm = None
            if rule.wasm is not None:
                path = Path(rule.wasm)
                wasm = WasmRule.from_file(
                    path if path.is_absolute() or base is None else base / path
                )
        except RuleError as exc:
            raise RuleError(f"rule {rule.id!r}: {exc.message}") from None
        compiled.append(CompiledRule(rule, ordinal, condition, wasm))
    return RuleSet(document.channels, tuple(compiled))


def load_text(
    text: str,
    source: str = "the rule file",
    *,
    base: Path | None = None,
    environ: Mapping[str, str] | None = None,
    secrets: Secrets | None = None,
) -> RuleSet:
    document = validate_document(parse_document(text, source), source, environ, secrets)
    return compile_rules(document, base)


def load_file(
    path: Path, *, environ: Mapping[str, str] | None = None, secrets: Secrets | None = None
) -> RuleSet:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RuleError(f"{path} is {size} bytes; rule files are limited to {MAX_FILE_BYTES}")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path} is not UTF-8 text") from None
    return load_text(text, str(path), base=path.parent, environ=environ, secrets=secrets)
