"""The rules the engine runs: an operator's rule file and every enabled rule document stored over
REST, merged into one `RuleSet`.

A stored document's rules and channels are named `<document id>:<name>` so documents of
different users never collide, and each of its rules is owned by the document's owner (its
alerts carry that owner). `vault:NAME` in a stored document's channel is the owner's secret;
in the file, the operator's (`OPERATOR`). `RuleSources.fingerprint` changes whenever the file
or a stored document does: the monitor polls it and hot-reloads (`RuleEngine.load`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from timemachine.logs import get_logger
from timemachine.rules.errors import RuleError
from timemachine.rules.loader import (
    CompiledRule,
    RuleSet,
    Secrets,
    compile_rules,
    load_file,
    parse_document,
    validate_document,
)
from timemachine.store.db import Database
from timemachine.store.rules import ChannelSecrets, Cipher, StoredRule, StoredRules

log = get_logger(__name__)
OPERATOR = "operator"
"""The owner of the secrets a rule file names (`timemachine rules secret set`)."""
MAX_RULE_ID = 128


def secrets_of(database: Database, vault: Cipher | None, owner: str) -> Secrets:
    """`owner`'s channel secrets by name (none without a vault)."""

    def secret(name: str) -> str | None:
        if vault is None:
            return None
        with database.session() as s:
            return ChannelSecrets(s, vault).reveal(owner, name)

    return secret


def compile_document(document: str, secrets: Secrets | None, source: str) -> RuleSet:
    """A document sent over the API: no `${ENV}` (the server's environment) and no WASM module
    (a path on the server); `vault:NAME` secrets come from `secrets`."""
    rules = validate_document(parse_document(document, source), source, {}, secrets)
    wasm = [r.id for r in rules.rules if r.wasm is not None]
    if wasm:
        raise RuleError(
            f"rule(s) {', '.join(wasm)} name a WASM module: over the API rules are expressions; "
            "install WASM rules in a rule file on the server"
        )
    return compile_rules(rules)


def namespaced(record: StoredRule, rules: RuleSet) -> RuleSet:
    """`rules` with their ids and channels prefixed by the document id, owned by its owner."""
    prefix = f"{record.id}:"
    long = [r.rule.id for r in rules.rules if len(prefix + r.rule.id) > MAX_RULE_ID]
    if long:
        raise RuleError(f"rule id(s) {', '.join(long)} too long: keep them under 115 characters")
    compiled = tuple(
        dataclasses.replace(
            r,
            rule=r.rule.model_copy(
                update={"id": prefix + r.rule.id, "notify": [prefix + n for n in r.rule.notify]}
            ),
        )
        for r in rules.rules
    )
    channels = {prefix + name: channel for name, channel in rules.channels.items()}
    return RuleSet(channels, compiled, {r.rule.id: record.owner for r in compiled})


def merge(sets: Sequence[RuleSet]) -> RuleSet:
    """One rule set of several (ordinals renumbered: the index keys rules by them)."""
    channels: dict[str, Any] = {}
    owners: dict[str, str] = {}
    compiled: list[CompiledRule] = []
    seen: set[str] = set()
    for rules in sets:
        channels.update(rules.channels)
        owners.update(rules.owners)
        for rule in rules.rules:
            if rule.rule.id in seen:
                raise RuleError(f"rule id {rule.rule.id!r} appears twice")
            seen.add(rule.rule.id)
            compiled.append(dataclasses.replace(rule, ordinal=len(compiled)))
    return RuleSet(channels, tuple(compiled), owners)


class RuleSources:
    """The file (optional) and the stored documents (optional: needs the database)."""

    def __init__(
        self,
        path: Path | None = None,
        database: Database | None = None,
        *,
        vault: Cipher | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path
        self.database = database
        self.vault = vault
        self.environ = environ

    def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever the file or a stored document changes."""
        parts: list[Any] = []
        if self.path is not None:
            try:
                stat = self.path.stat()
                parts.append((stat.st_mtime_ns, stat.st_size))
            except OSError:
                parts.append(None)
        if self.database is not None:
            with self.database.session() as s:
                parts.append(StoredRules(s).fingerprint())
        return tuple(parts)

    def load(self) -> RuleSet:
        """Every rule: a bad file raises RuleError; a stored document that no longer compiles
        (e.g. its vault secret was deleted) is skipped with a warning, the others load."""
        sets: list[RuleSet] = []
        if self.path is not None:
            file_secrets = (
                secrets_of(self.database, self.vault, OPERATOR)
                if self.database is not None
                else None
            )
            sets.append(load_file(self.path, environ=self.environ, secrets=file_secrets))
        if self.database is not None:
            with self.database.session() as s:
                records = StoredRules(s).enabled()
            for record in records:
                secrets = secrets_of(self.database, self.vault, record.owner)
                try:
                    compiled = compile_document(record.document, secrets, f"rule {record.id}")
                    sets.append(namespaced(record, compiled))
                except RuleError as error:
                    log.warning("stored rule skipped", rule=record.id, error=error.message)
        return merge(sets)
