"""What-if and verify-fix endpoints: validated, stored as sessions of their kind, queued for the
workers; code patches never name a server file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api_support import client, database, isolated_env, owner_id
from timemachine.api.metrics import queue_lengths
from timemachine.models.requests import VerifyFixStartRequest, WhatIfStartRequest
from timemachine.models.sessions import SessionKind
from timemachine.orchestration.whatif_sessions import source_files
from timemachine.store import ReplaySessions
from timemachine.tasks.submit import TASK_FOR_KIND

__all__ = ["client", "isolated_env"]  # fixtures

WHATIF = "/api/time-machine/whatif/start"
VERIFY = "/api/time-machine/verify-fix/start"
TX = "0x" + "ab" * 32
BANK = "0x" + "12" * 20
SOURCE = "pragma solidity ^0.8.20;\ncontract Fixed { function f() external {} }\n"


def stored(client: TestClient, session_id: str) -> tuple[str, dict[str, object], str]:
    with database(client).session() as s:
        record = ReplaySessions(s).require(session_id)
    return record.kind, record.request, record.owner


def test_whatif_start_stores_a_whatif_session_and_queues_it(
    client: TestClient, tmp_path: Path
) -> None:
    body = {
        "tx_hash": TX.upper().replace("0X", "0x"),
        "patches": [{"address": BANK, "source_text": SOURCE, "contract": "Fixed"}],
        "overrides": [{"address": BANK, "balance": 5, "storage": {"0x0": "0x1"}}],
        "sender": "0x" + "34" * 20,
        "before": [{"from": "0x" + "56" * 20, "to": BANK, "data": "0x"}],
        "user_id": "mallory",
    }
    response = client.post(WHATIF, json=body)
    assert response.status_code == 202, response.text
    kind, request, owner = stored(client, response.json()["session_id"])
    assert kind == "whatif"
    assert owner == owner_id(client) == request["user_id"]
    assert request["tx_hash"] == TX
    assert request["chain_id"] == 31337
    assert request["compare"] is True
    assert request["before"] == [{"from": "0x" + "56" * 20, "to": BANK, "data": "0x",
                                  "value": 0, "gas": None}]  # fmt: skip
    # What the worker reads back is the same what-if; the source text becomes a file there.
    again = WhatIfStartRequest.model_validate(request)
    assert again.patches[0].source_text == SOURCE
    with pytest.raises(ValueError, match="needs the file"):
        again.whatif()  # no file written: refused rather than pointing anywhere
    with source_files(tmp_path, again.patches) as paths:
        [path] = paths
        assert path is not None
        assert path.read_text() == SOURCE
        assert path.parent.parent == tmp_path / "tmp"
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        whatif = again.whatif(paths)
    assert not path.exists()
    assert whatif.patches[0].source == str(path)
    assert whatif.patches[0].contract == "Fixed"
    assert whatif.sender == "0x" + "34" * 20
    assert whatif.overrides[0].balance == 5
    settings = client.app.state.timemachine.settings  # type: ignore[attr-defined]
    assert queue_lengths(settings)["replay"] == 1


def test_whatif_without_modifications_is_a_comparison_with_the_original(
    client: TestClient,
) -> None:
    response = client.post(WHATIF, json={"tx_hash": TX, "compare": False})
    assert response.status_code == 202
    _, request, _ = stored(client, response.json()["session_id"])
    assert WhatIfStartRequest.model_validate(request).whatif().empty


@pytest.mark.parametrize(
    "patch",
    [
        {"address": BANK, "source": "/etc/passwd"},
        {"address": BANK, "source": "contracts/EtherBankFixed.sol", "contract": "EtherBankFixed"},
        {"address": BANK, "source_text": SOURCE, "source": "x.sol"},
    ],
    ids=["absolute", "relative", "with-text"],
)
@pytest.mark.parametrize("endpoint", [WHATIF, VERIFY])
def test_source_paths_are_refused(client: TestClient, endpoint: str, patch: dict[str, str]) -> None:
    response = client.post(endpoint, json={"tx_hash": TX, "patches": [patch]})
    assert response.status_code == 422
    assert "not accepted over HTTP" in response.text
    assert "/etc/passwd" not in response.text or patch["source"] == "/etc/passwd"
    with database(client).session() as s:
        assert ReplaySessions(s).count_active(owner_id(client)) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"tx_hash": "0x1234"}, 422),
        ({"tx_hash": TX, "patches": [{"address": BANK}]}, 422),
        ({"tx_hash": TX, "patches": [{"address": BANK, "code": "0x60", "artifact": "X"}]}, 422),
        ({"tx_hash": TX, "patches": [{"address": BANK, "artifact": "../../etc/passwd"}]}, 422),
        ({"tx_hash": TX, "patches": [{"address": "bank", "code": "0x60"}]}, 422),
        ({"tx_hash": TX, "at_block": -1}, 422),
        ({"tx_hash": TX, "unknown": 1}, 422),
        ({"tx_hash": TX, "patches": [{"address": BANK, "artifact": "NoSuchFixed"}]}, 404),
        ({"tx_hash": TX, "chain_id": 1}, 400),
    ],
    ids=[
        "bad-hash",
        "no-source",
        "two-sources",
        "artifact-path",
        "bad-address",
        "negative-block",
        "extra-field",
        "unknown-artifact",
        "chain-without-rpc",
    ],
)
def test_bad_whatif_requests(client: TestClient, body: dict[str, object], status: int) -> None:
    response = client.post(WHATIF, json=body)
    assert response.status_code == status, response.text


def test_verify_fix_of_a_bundled_scenario(client: TestClient) -> None:
    response = client.post(VERIFY, json={"scenario_id": "reentrancy-bank"})
    assert response.status_code == 202, response.text
    kind, request, _ = stored(client, response.json()["session_id"])
    assert kind == "verify_fix"
    assert VerifyFixStartRequest.model_validate(request).scenario_id == "reentrancy-bank"


def test_verify_fix_with_patches(client: TestClient) -> None:
    body = {"tx_hash": TX, "patches": [{"address": BANK, "artifact": "EtherBankFixed"}]}
    response = client.post(VERIFY, json=body)
    assert response.status_code == 202, response.text
    kind, request, _ = stored(client, response.json()["session_id"])
    assert kind == "verify_fix"
    patch = VerifyFixStartRequest.model_validate(request).patches[0].to_patch()
    assert (patch.artifact, patch.source, patch.code) == ("EtherBankFixed", None, None)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"tx_hash": TX}, 422),
        ({"tx_hash": TX, "scenario_id": "reentrancy-bank"}, 422),
        ({"scenario_id": "reentrancy-bank", "chain_id": 1}, 422),
        ({"scenario_id": "no-such-scenario"}, 404),
        ({"scenario_id": "amm-swaps"}, 400),
    ],
    ids=["empty", "no-patch", "both", "scenario-off-devnet", "unknown-scenario", "benign"],
)
def test_bad_verify_fix_requests(client: TestClient, body: dict[str, object], status: int) -> None:
    response = client.post(VERIFY, json=body)
    assert response.status_code == status, response.text


def test_every_kind_has_a_replay_queue_task() -> None:
    assert TASK_FOR_KIND[SessionKind.WHATIF] == "tasks.replay_tasks.replay_whatif"
    assert TASK_FOR_KIND[SessionKind.VERIFY_FIX] == "tasks.replay_tasks.verify_fix"
    assert set(TASK_FOR_KIND) == set(SessionKind)
    import timemachine.tasks.analysis_tasks
    import timemachine.tasks.replay_tasks  # noqa: F401
    from timemachine.tasks.app import celery_app

    assert {TASK_FOR_KIND[k] for k in SessionKind} <= set(celery_app.tasks)
