"""The exploit catalog mirror and transaction imports on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from timemachine.catalog.incidents import bundled_records, load_catalog
from timemachine.errors import InvalidInputError
from timemachine.store import Database, TxImports, get_exploit, list_exploits, open_database
from timemachine.store import upsert_catalog as upsert


def tx(n: int) -> str:
    return "0x" + f"{n:064x}"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    yield database
    database.dispose()


def test_catalog_round_trips_and_upserts_in_place(db: Database) -> None:
    records = list(bundled_records())
    with db.session() as s:
        first = upsert(s, records)
    with db.session() as s:
        again = upsert(s, records)
        stored = list_exploits(s, limit=500)
    assert (first.inserted, first.updated) == (len(records), 0)
    assert (again.inserted, again.updated) == (0, len(records))
    assert stored.total == len(records)
    assert stored.items == sorted(records, key=lambda r: r.id)  # bundled: no date, by id


def test_catalog_filters_and_pages_like_the_cli(db: Database) -> None:
    catalog = load_catalog()
    with db.session() as s:
        upsert(s)
    with db.session() as s:
        total = list_exploits(s, limit=1).total
        reentrancy = list_exploits(s, vulnerability_type="Reentrancy", limit=500)
        critical_bsc = list_exploits(s, severity="critical", chain="bsc", limit=500)
        page_two = list_exploits(s, vulnerability_type="reentrancy", limit=2, offset=2)
        record = get_exploit(s, catalog.records[-1].id)
        with pytest.raises(InvalidInputError, match="unknown vulnerability type"):
            list_exploits(s, vulnerability_type="magic")
        with pytest.raises(InvalidInputError, match="unknown severity"):
            list_exploits(s, severity="apocalyptic")
    assert total == len(catalog.records)
    expected = catalog.filter(vulnerability_class="reentrancy")
    assert {r.id for r in reentrancy.items} == {r.id for r in expected}
    assert reentrancy.total == len(expected)
    expected_bsc = catalog.filter(severity="critical", chain="bsc")
    assert {r.id for r in critical_bsc.items} == {r.id for r in expected_bsc}
    assert [r.id for r in page_two.items] == [r.id for r in reentrancy.items[2:4]]
    assert record == catalog.records[-1]


def test_reimport_upserts_and_counts_duplicates(db: Database) -> None:
    with db.session() as s:
        first = TxImports(s).import_transactions(
            "alice",
            "incidents.csv",
            [
                {"chain_id": 1, "hash": tx(1), "label": "attack", "metadata": {"a": 1}},
                {"chain_id": 1, "hash": tx(2), "block": 100},
                {"chain_id": 56, "hash": tx(1)},
            ],
        )
    with db.session() as s:
        second = TxImports(s).import_transactions(
            "alice",
            "again.csv",
            [
                {"chain_id": 1, "hash": tx(1).upper().replace("0X", "0x"), "metadata": {"b": 2}},
                {"chain_id": 1, "hash": tx(3)},
                {"chain_id": 1, "hash": tx(3), "label": "twice in one file"},
            ],
        )
        bob = TxImports(s).import_transactions("bob", "x", [{"chain_id": 1, "hash": tx(1)}])
    with db.session() as s:
        repo = TxImports(s)
        alice = repo.list_transactions("alice", limit=500)
        mainnet = repo.list_transactions("alice", chain_id=1)
        batches = repo.list_imports("alice")
    assert (first.accepted, first.duplicates) == (3, 0)
    assert (second.accepted, second.duplicates) == (1, 2)
    assert (bob.accepted, bob.duplicates) == (1, 0)
    assert alice.total == 4
    assert mainnet.total == 3
    by_key = {(t.chain_id, t.hash): t for t in alice.items}
    kept = by_key[(1, tx(1))]
    assert kept.label == "attack"
    assert kept.metadata == {"a": 1, "b": 2}
    assert kept.import_id == first.id
    assert by_key[(1, tx(3))].label == "twice in one file"
    assert [b.id for b in batches.items] == [second.id, first.id] or batches.total == 2


def test_a_bad_item_rejects_the_whole_import(db: Database) -> None:
    with db.session() as s:
        TxImports(s).import_transactions("alice", "ok", [{"chain_id": 1, "hash": tx(1)}])
    bad_batches: list[list[dict[str, object]]] = [
        [{"chain_id": 1, "hash": tx(2)}, {"chain_id": 1, "hash": "0x1234"}],
        [{"chain_id": 1, "hash": tx(1), "label": "x"}, {"chain_id": 0, "hash": tx(3)}],
        [{"chain_id": 1, "hash": tx(4), "metadata": {"x": float("inf")}}],
        [{"chain_id": 1, "hash": tx(5), "colour": "red"}],
        [],
    ]
    for batch in bad_batches:
        with pytest.raises(InvalidInputError, match="import rejected"), db.session() as s:
            TxImports(s).import_transactions("alice", "bad", batch)
    with db.session() as s:
        stored = TxImports(s).list_transactions("alice")
        batches = TxImports(s).list_imports("alice")
    assert [(t.hash, t.label) for t in stored.items] == [(tx(1), None)]
    assert batches.total == 1
