"""`/api/v1/operations`: the configured provider pools (keys redacted), an unreachable pool
measured as a 503 with one line, an unknown pool a 404; admins only."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import headers_for, isolated_env, make_settings
from timemachine.api import create_app
from timemachine.models.auth import Role

__all__ = ["isolated_env"]  # fixtures

OPS = "/api/v1/operations"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def admin_client(isolated_env: Path) -> Iterator[TestClient]:
    settings = make_settings(
        isolated_env,
        ethereum_rpc_urls="https://eth.example/v2/SECRETKEY,https://backup.example:8545",
        monitor_rpc_urls=f"http://127.0.0.1:{closed_port()}",
    )
    with TestClient(create_app(settings)) as client:
        client.headers.update(headers_for(client, "root", Role.ADMIN))
        yield client


def test_pools_are_listed_with_redacted_providers(admin_client: TestClient) -> None:
    answer = admin_client.get(f"{OPS}/chains")
    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "name": "ethereum",
            "chain_id": 1,
            "providers": ["https://eth.example", "https://backup.example:8545"],
        },
        {"name": "monitor", "chain_id": None, "providers": [answer.json()[1]["providers"][0]]},
    ]
    assert answer.json()[1]["providers"][0].startswith("http://127.0.0.1:")


def test_an_unreachable_or_unknown_pool_is_one_line(admin_client: TestClient) -> None:
    down = admin_client.get(f"{OPS}/chains/monitor/status")
    assert down.status_code == 502
    assert down.json()["detail"].startswith("no provider of the pool answered: http://127.0.0.1:")
    unknown = admin_client.get(f"{OPS}/chains/base/status")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no provider pool 'base'; configured: ethereum, monitor"


def test_queues_need_an_admin(admin_client: TestClient) -> None:
    assert admin_client.get(f"{OPS}/queues").status_code == 200
    analyst = headers_for(admin_client, "ana", Role.ANALYST)
    refused = admin_client.get(f"{OPS}/queues", headers=analyst)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this needs the admin role; you are analyst"
