"""The monitor over HTTP: stored transactions with filters and cursors, one transaction, stats,
`/ws/transactions` filtering live events; bad filters are 4xx with a message."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.api_support import client, isolated_env
from tests.unit.monitor_records import SENDER, TARGET, record
from timemachine.bus.topics import TX_ENRICHED
from timemachine.monitor.service import row_of
from timemachine.store import Database, MonitoredTxs

__all__ = ["client", "isolated_env"]  # fixtures

MONITOR = "/api/v1/monitor"


def _store(client: TestClient) -> list[str]:
    records = [record(n, value=hex(n * 10**18)) for n in range(1, 4)]
    records[2].status = "included"
    db: Database = client.app.state.timemachine.db  # type: ignore[attr-defined]
    with db.session() as session:
        MonitoredTxs(session).upsert([row_of(r) for r in records])
    return [r.tx.hash for r in records]


def test_list_filter_page_and_get(client: TestClient) -> None:
    hashes = _store(client)
    first = client.get(f"{MONITOR}/transactions", params={"limit": 2}).json()
    assert [item["tx"]["hash"] for item in first["items"]] == hashes[:2]
    rest = client.get(
        f"{MONITOR}/transactions", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert ([item["tx"]["hash"] for item in rest["items"]], rest["next_cursor"]) == (
        hashes[2:],
        None,
    )
    rich = client.get(f"{MONITOR}/transactions", params={"min_value": str(2 * 10**18)}).json()
    assert [item["tx"]["hash"] for item in rich["items"]] == hashes[1:]
    done = client.get(f"{MONITOR}/transactions", params={"status": "included"}).json()
    assert [item["tx"]["hash"] for item in done["items"]] == hashes[2:]
    one = client.get(f"{MONITOR}/transactions/test/{hashes[0]}")
    assert one.status_code == 200
    assert one.json()["enrichment"]["kind"] == "transfer"
    assert client.get(f"{MONITOR}/transactions/test/0x{'00' * 32}").status_code == 404
    stats = client.get(f"{MONITOR}/stats", params={"chain": "test"}).json()
    assert stats == {"chain": "test", "statuses": {"pending": 2, "included": 1}, "total": 3}


@pytest.mark.parametrize(
    "params",
    [{"kind": "teleport"}, {"address": "0x12"}, {"min_value": "-1"}, {"status": "lost"}],
)
def test_bad_filters_are_400_with_a_message(client: TestClient, params: dict[str, str]) -> None:
    answer = client.get(f"{MONITOR}/transactions", params=params)
    assert answer.status_code == 400
    assert answer.json()["detail"]


def test_websocket_sends_matching_changes_only(client: TestClient) -> None:
    bus = client.app.state.timemachine.bus  # type: ignore[attr-defined]
    small, big = record(1, value="0x1"), record(2, value=hex(5 * 10**18))
    with client.websocket_connect(f"/ws/transactions?address={TARGET}&min_value=10") as socket:
        assert socket.receive_json()["type"] == "hello"
        bus.publish(TX_ENRICHED, small.event("tx_enriched"))
        bus.publish(TX_ENRICHED, big.event("tx_enriched"))
        event = socket.receive_json()
    assert (event["type"], event["tx"]["hash"], event["tx"]["sender"]) == (
        "tx_enriched",
        big.tx.hash,
        SENDER,
    )


def test_websocket_refuses_a_bad_filter(client: TestClient) -> None:
    with client.websocket_connect("/ws/transactions?kind=teleport") as socket:
        error = socket.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert error["error"] == "InvalidInputError"
    assert closed.value.code == 4400
