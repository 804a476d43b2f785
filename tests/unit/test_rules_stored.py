"""The rules the monitor runs: the operator's file and the enabled stored documents merged (each
document's names prefixed by its id, its alerts owned by its owner), `vault:NAME` secrets, and
a hot reload when a stored document changes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.monitor_records import record
from timemachine.bus import LocalBus
from timemachine.monitor.alerting import running_rules
from timemachine.rules.errors import RuleError
from timemachine.rules.stored import OPERATOR, RuleSources
from timemachine.security.outbound import OutboundPolicy
from timemachine.security.vault import Vault, generate_key_spec
from timemachine.store import Database, open_database
from timemachine.store.alerts import AlertStore
from timemachine.store.rules import ChannelSecrets, StoredRules

FILE = """
channels:
  ops: {type: webhook, url: "https://hooks.example.org/ops", secret: "vault:ops-key"}
rules:
  - {id: big-value, when: 'tx.value >= 1 ether', notify: [ops]}
"""
STORED = """
channels:
  ops: {type: slack, url: "vault:slack-url"}
rules:
  - {id: any-pending, when: 'stage == "pending"', notify: [ops]}
"""


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'rules.db'}")
    yield database
    database.dispose()


@pytest.fixture
def vault() -> Vault:
    return Vault.from_spec(generate_key_spec())


def test_file_and_enabled_documents_merge(db: Database, vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(FILE)
    with db.session() as s:
        secrets = ChannelSecrets(s, vault)
        secrets.put(OPERATOR, "ops-key", "operator-secret")
        secrets.put("alice", "slack-url", "https://hooks.slack.example/T1")
        on = StoredRules(s).create(owner="alice", name="a", document=STORED, enabled=True)
        StoredRules(s).create(owner="bob", name="b", document=STORED, enabled=False)
    rules = RuleSources(path, db, vault=vault).load()
    assert [r.rule.id for r in rules.rules] == ["big-value", f"{on.id}:any-pending"]
    assert [r.ordinal for r in rules.rules] == [0, 1]
    assert rules.rules[1].rule.notify == [f"{on.id}:ops"]
    assert rules.owners == {f"{on.id}:any-pending": "alice"}
    secret = rules.channels["ops"].secret
    assert secret is not None
    assert secret.get_secret_value() == "operator-secret"
    assert rules.channels[f"{on.id}:ops"].url == "https://hooks.slack.example/T1"

    with db.session() as s:  # alice's secret gone: her document is skipped, the file loads
        ChannelSecrets(s).delete("alice", "slack-url")
    assert [r.rule.id for r in RuleSources(path, db, vault=vault).load().rules] == ["big-value"]
    with db.session() as s:  # the operator's secret is not alice's, and vice versa
        ChannelSecrets(s, vault).put("alice", "ops-key", "x")
        ChannelSecrets(s).delete(OPERATOR, "ops-key")
    with pytest.raises(RuleError, match="channel secret 'vault:ops-key' is not in the vault"):
        RuleSources(path, db, vault=vault).load()


async def test_a_stored_document_is_hot_reloaded(db: Database) -> None:
    sources = RuleSources(None, db)
    policy = OutboundPolicy.from_spec("")
    async with running_rules(
        sources, db, LocalBus(), 31337, policy=policy, reload_interval=0.02
    ) as feed:
        feed.tx_changed(record(1), "tx_enriched")
        assert feed.alerts == []
        document = "rules: [{id: any-pending, when: 'stage == \"pending\"'}]"
        with db.session() as s:
            stored = StoredRules(s).create(owner="alice", name="a", document=document, enabled=True)
        while not feed.notifier.engine.ruleset.rules:
            await asyncio.sleep(0.01)
        feed.tx_changed(record(2), "tx_enriched")
        with db.session() as s:
            StoredRules(s).update(stored.id, owner="alice", author="alice", enabled=False)
        while feed.notifier.engine.ruleset.rules:
            await asyncio.sleep(0.01)
        feed.tx_changed(record(3), "tx_enriched")
    [alert] = feed.alerts
    assert (alert.rule_id, alert.tx_hash) == (f"{stored.id}:any-pending", record(2).tx.hash)
    with db.session() as s:
        assert AlertStore(s).get(alert.id).owner == "alice"
