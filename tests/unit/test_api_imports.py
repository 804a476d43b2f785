"""Transaction imports over HTTP: upload (CSV, JSON), row errors with line numbers, idempotent
re-import, listing, ownership (another user's import is 404), replay in chunks of ≤ 100."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import client, database, headers_for, isolated_env, owner_id
from timemachine.models.auth import Role
from timemachine.models.requests import MAX_TRANSACTIONS
from timemachine.store import ReplaySessions

__all__ = ["client", "isolated_env"]  # fixtures

IMPORTS = "/api/time-machine/imports"


def tx(n: int) -> str:
    return "0x" + f"{n:064x}"


def upload(client: TestClient, content: str, **fields: object) -> dict[str, object]:
    body = {"format": "csv", "content": content, "chain": "31337", "source": "test.csv"} | fields
    response = client.post(IMPORTS, json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_csv_import_reports_bad_rows_with_their_lines_and_keeps_the_good(
    client: TestClient,
) -> None:
    content = (
        "hash,block,label,desk\n"
        f"{tx(1)},10,first,a\n"
        "0x1234,11,short hash,b\n"  # line 3
        f"{tx(2)},-5,bad block,c\n"  # line 4
        f"{tx(3)},12,third,d\n"
        f"{tx(1)},10,again,e\n"  # line 6: the same tx as line 2
    )
    answer = upload(client, content)
    assert answer["accepted"] == 2
    assert answer["rejected"] == 2
    assert answer["duplicates"] == 1
    errors = answer["errors"]
    assert isinstance(errors, list)
    assert [e["line"] for e in errors] == [3, 4]
    assert "transaction hash" in errors[0]["reason"]
    assert "block" in errors[1]["reason"]
    import_id = answer["import_id"]

    detail = client.get(f"{IMPORTS}/{import_id}").json()
    assert detail["import"]["id"] == import_id
    assert detail["import"]["owner"] == owner_id(client)
    txs = detail["transactions"]
    assert txs["total"] == 2
    assert [(t["hash"], t["block"], t["chain_id"]) for t in txs["items"]] == [
        (tx(1), 10, 31337),
        (tx(3), 12, 31337),
    ]
    assert txs["items"][0]["label"] == "again"  # the later row of the same tx wins
    assert txs["items"][0]["metadata"] == {"desk": "e"}

    # Re-importing the same file stores nothing new: every good row is a duplicate.
    again = upload(client, content)
    assert (again["accepted"], again["rejected"], again["duplicates"]) == (0, 2, 3)
    listing = client.get(IMPORTS).json()
    assert listing["total"] == 2
    assert {item["accepted"] for item in listing["items"]} == {2, 0}


def test_json_import_names_the_array_index(client: TestClient) -> None:
    content = f'[{{"hash": "{tx(7)}", "chain": 31337}}, {{"hash": 5}}, "nope"]'
    answer = upload(client, content, format="json")
    assert answer["accepted"] == 1
    assert [(e["line"], e["reason"]) for e in answer["errors"]] == [  # type: ignore[attr-defined]
        (1, "hash must be a string, found a number"),
        (2, "expected an object with a 'hash' key, found a string"),
    ]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"format": "xlsx", "content": "hash\n"}, 422),
        ({"format": "csv"}, 422),
        ({"format": "csv", "content": "hash\n", "path": "/etc/passwd"}, 422),
        ({"format": "csv", "content": "txid,chain\nx,1\n"}, 400),
        ({"format": "json", "content": '{"hash": 1}'}, 400),
        ({"format": "csv", "content": f"hash\n{tx(1)}\n", "chain": "atlantis"}, 400),
    ],
    ids=["unknown-format", "no-content", "no-paths", "no-hash-column", "not-a-list", "bad-chain"],
)
def test_bad_imports_are_refused(client: TestClient, body: dict[str, object], status: int) -> None:
    response = client.post(IMPORTS, json=body)
    assert response.status_code == status, response.text
    with database(client).session() as s:
        from timemachine.store import TxImports

        assert TxImports(s).list_imports(owner_id(client)).total == 0


def test_another_users_import_is_404(client: TestClient) -> None:
    answer = upload(client, f"hash\n{tx(1)}\n")
    import_id = answer["import_id"]
    mallory = headers_for(client, "mallory", Role.ANALYST)
    for method, path in (
        ("GET", f"{IMPORTS}/{import_id}"),
        ("POST", f"{IMPORTS}/{import_id}/replay"),
    ):
        response = client.request(
            method, path, headers=mallory, json={} if method == "POST" else None
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "NotFoundError"
    missing = client.request(
        "GET", f"{IMPORTS}/00000000-0000-0000-0000-000000000000", headers=mallory
    )
    assert missing.status_code == 404
    assert client.get(IMPORTS, headers=mallory).json()["total"] == 0
    # the owner and an admin still see it
    assert client.get(f"{IMPORTS}/{import_id}").status_code == 200
    admin = headers_for(client, "root", Role.ADMIN)
    assert client.get(f"{IMPORTS}/{import_id}", headers=admin).status_code == 200


def test_replay_runs_the_import_in_chunks_of_at_most_100(client: TestClient) -> None:
    rows = "".join(f"{tx(n)},{n}\n" for n in range(1, 151))
    answer = upload(client, "hash,block\n" + rows)
    assert answer["accepted"] == 150
    import_id = answer["import_id"]

    first = client.post(f"{IMPORTS}/{import_id}/replay", json={})
    assert first.status_code == 202, first.text
    body = first.json()
    assert (body["transactions"], body["total"], body["next_offset"]) == (
        MAX_TRANSACTIONS,
        150,
        100,
    )
    assert body["chain_id"] == 31337
    second = client.post(f"{IMPORTS}/{import_id}/replay", json={"offset": body["next_offset"]})
    assert second.status_code == 202
    assert (second.json()["transactions"], second.json()["next_offset"]) == (50, None)
    with database(client).session() as s:
        sessions = ReplaySessions(s)
        one = sessions.require(body["session_id"])
        two = sessions.require(second.json()["session_id"])
    assert one.kind == two.kind == "transactions"
    assert one.owner == owner_id(client)
    hashes = [t["hash"] for t in one.request["transactions"]] + [
        t["hash"] for t in two.request["transactions"]
    ]
    assert hashes == [tx(n) for n in range(1, 151)]
    assert one.request["transactions"][0]["block_number"] == 1

    past = client.post(f"{IMPORTS}/{import_id}/replay", json={"offset": 150})
    assert past.status_code == 404
    too_big = client.post(f"{IMPORTS}/{import_id}/replay", json={"limit": MAX_TRANSACTIONS + 1})
    assert too_big.status_code == 422


def test_replay_of_mixed_chains_needs_a_chain(client: TestClient) -> None:
    content = f"hash,chain\n{tx(1)},31337\n{tx(2)},1\n"
    import_id = upload(client, content)["import_id"]
    mixed = client.post(f"{IMPORTS}/{import_id}/replay", json={})
    assert mixed.status_code == 400
    assert "give chain_id" in mixed.json()["detail"]
    devnet = client.post(f"{IMPORTS}/{import_id}/replay", json={"chain_id": 31337})
    assert devnet.status_code == 202
    assert devnet.json()["transactions"] == 1
    mainnet = client.post(f"{IMPORTS}/{import_id}/replay", json={"chain_id": 1})
    assert mainnet.status_code == 400  # no RPC configured for chain 1
    assert "WEB3_RPC_URL" in mainnet.json()["detail"]
