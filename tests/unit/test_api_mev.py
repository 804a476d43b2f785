"""MEV over HTTP: inspect uploaded blocks (stored, replaced on re-inspection), query with
filters and cursors, exact integers, one-line 4xx errors, roles."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.api_support import client, headers_for, isolated_env
from tests.unit.mev_traces import tx_hash
from tests.unit.test_mev_inspectors import PAIR, SEARCHER, TOKEN, WETH, arbitrage_traces, v2_leg
from timemachine.models.auth import Role

__all__ = ["client", "isolated_env"]  # fixtures

MEV = "/api/time-machine/mev"
VICTIM = "0x" + "71c".rjust(40, "0")


def sandwich_document(number: int) -> dict[str, Any]:
    traces = [
        *v2_leg(tx_hash(1), 0, SEARCHER, (WETH, 10), (TOKEN, 100)),
        *v2_leg(tx_hash(2), 1, VICTIM, (WETH, 5), (TOKEN, 40)),
        *v2_leg(tx_hash(3), 2, SEARCHER, (TOKEN, 100), (WETH, 2**70)),
    ]
    for trace in traces:
        trace["block_number"] = number
    return {"block_number": number, "miner": "0x" + "11" * 20, "traces": traces}


def test_inspect_store_and_query(client: TestClient) -> None:
    traces = arbitrage_traces()
    for trace in traces:
        trace["block_number"] = 102
    arbitrage = {"block_number": 102, "traces": traces}
    answer = client.post(f"{MEV}/inspect", json={"blocks": [sandwich_document(100), arbitrage]})
    assert answer.status_code == 200, answer.text
    blocks = answer.json()["blocks"]
    assert [b["block_number"] for b in blocks] == [100, 102]
    assert blocks[0]["sandwiches"][0]["profit_amount"] == 2**70 - 10  # exact, beyond 2**53
    assert blocks[1]["arbitrages"][0]["profit_amount"] == 2

    page = client.get(f"{MEV}/findings", params={"type": "sandwich"}).json()
    assert [item["type"] for item in page["items"]] == ["sandwich"]
    assert page["items"][0]["payload"]["profit_amount"] == 2**70 - 10
    assert page["next_cursor"] is None
    (arb,) = client.get(f"{MEV}/findings", params={"type": "arbitrage"}).json()["items"]
    assert (arb["block_number"], arb["searcher"], arb["profit_amount"]) == (102, SEARCHER, 2)
    twice = client.post(f"{MEV}/inspect", json={"blocks": [sandwich_document(7)] * 2})
    assert twice.status_code == 400


def test_filters_cursor_and_replacement(client: TestClient) -> None:
    docs = [sandwich_document(100), sandwich_document(101)]
    assert client.post(f"{MEV}/inspect", json={"blocks": docs}).status_code == 200
    assert client.post(f"{MEV}/inspect", json={"blocks": docs[:1]}).status_code == 200  # again
    sandwiches = client.get(f"{MEV}/findings", params={"type": "sandwich"}).json()["items"]
    assert sorted(s["block_number"] for s in sandwiches) == [100, 101]  # replaced, not doubled
    big = client.get(f"{MEV}/findings", params={"min_profit": str(2**70 - 10)}).json()["items"]
    assert len(big) == 2
    none = client.get(f"{MEV}/findings", params={"min_profit": str(2**70 - 9)}).json()["items"]
    assert none == []
    pool = client.get(f"{MEV}/findings", params={"pool": PAIR, "from_block": 101}).json()
    assert {i["block_number"] for i in pool["items"]} == {101}
    first = client.get(f"{MEV}/findings", params={"limit": 3}).json()
    second = client.get(
        f"{MEV}/findings", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert first["next_cursor"] is not None
    assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in second["items"])
    stored = client.get(f"{MEV}/blocks/101").json()
    assert {i["type"] for i in stored["findings"]["items"]} == {"swap", "sandwich"}


def test_bad_input_is_4xx_with_a_message(client: TestClient) -> None:
    bad = client.post(f"{MEV}/inspect", json={"blocks": [{"hello": 1}]})
    assert bad.status_code == 400
    assert "not a trace_block document" in bad.json()["detail"]
    assert client.post(f"{MEV}/inspect", json={"blocks": []}).status_code == 422
    unknown = client.get(f"{MEV}/blocks/5")
    assert unknown.status_code == 404
    assert "not inspected" in unknown.json()["detail"]
    assert client.get(f"{MEV}/findings", params={"min_profit": "1e5"}).status_code == 400
    assert client.get(f"{MEV}/findings", params={"type": "frontrun"}).status_code == 422


def test_viewers_read_but_do_not_inspect(client: TestClient) -> None:
    viewer = headers_for(client, "vera", Role.VIEWER)
    denied = client.post(f"{MEV}/inspect", json={"blocks": [sandwich_document(1)]}, headers=viewer)
    assert denied.status_code == 403
    assert client.get(f"{MEV}/findings", headers=viewer).status_code == 200


def test_websocket_pushes_newly_found_mev(client: TestClient) -> None:
    with client.websocket_connect("/ws/mev") as socket:
        assert socket.receive_json() == {"type": "hello", "channel": "mev"}
        answer = client.post(f"{MEV}/inspect", json={"blocks": [sandwich_document(300)]})
        assert answer.status_code == 200
        event = socket.receive_json()
    assert event == {
        "type": "mev",
        "chain_id": 1,
        "block_number": 300,
        "kind": "sandwich",
        "transaction_hash": tx_hash(1),
        "searcher": SEARCHER,
        "profit_token_address": WETH,
        "profit_amount": 2**70 - 10,
    }


def test_websocket_needs_credentials(client: TestClient) -> None:
    client.headers.pop("Authorization")
    with client.websocket_connect("/ws/mev") as socket:
        assert socket.receive_json()["type"] == "error"
        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()
    assert closed.value.code == 4401
