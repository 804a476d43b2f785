"""A worker runs what-if and verify-fix sessions on the devnet and stores their verdicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from timemachine.bus import LocalBus
from timemachine.catalog.scenarios import get_scenario
from timemachine.devnet import Devnet
from timemachine.orchestration.progress import Reporter
from timemachine.orchestration.runtime import EngineRuntime
from timemachine.orchestration.sessions import run_session
from timemachine.settings import Settings
from timemachine.store import Database, ReplaySessions, open_database

pytestmark = pytest.mark.integration


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[tuple[EngineRuntime, Database]]:
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings.database_url)
    engine = EngineRuntime(settings)
    yield engine, db
    engine.close()
    db.dispose()


def _run(engine: EngineRuntime, db: Database, kind: str, request: dict[str, Any]) -> list[Any]:
    with db.session() as s:
        record = ReplaySessions(s).create(owner="alice", kind=kind, request=request)
    run_session(db, engine, Reporter(db, LocalBus(), record.id))
    with db.session() as s:
        done = ReplaySessions(s).require(record.id)
        assert (done.status, done.error) == ("completed", None)
        return ReplaySessions(s).results(record.id)


def test_whatif_and_verify_fix_sessions_stop_the_bank_exploit(
    devnet: Devnet, runtime: tuple[EngineRuntime, Database]
) -> None:
    engine, db = runtime
    fix = get_scenario("reentrancy-bank").fix
    assert fix is not None
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    patch = {"address": devnet.history.address_of(fix.contract), "artifact": fix.artifact}

    verify = _run(engine, db, "verify_fix", {"tx_hash": tx, "patches": [patch]})
    assert [r.tx_index for r in verify] == [0, 1]
    patched, original = verify
    assert patched.analysis is not None
    verdict = patched.analysis["verification"]
    assert verdict["verdict"] == "stopped"
    assert verdict["stopped"] is True
    assert (verdict["original_status"], verdict["patched_status"]) == (1, 0)
    assert patched.replay is not None
    assert original.replay is not None
    assert patched.replay["replayed"]["status"] == 0
    assert original.replay["replayed"]["status"] == 1
    assert original.replay["fidelity"]["verdict"] == "exact"

    whatif = _run(engine, db, "whatif", {"tx_hash": tx, "patches": [patch]})
    modified, baseline = whatif
    assert modified.analysis is not None
    comparison = modified.analysis["comparison"]
    assert comparison["status"]["left"] == 1
    assert comparison["status"]["right"] == 0
    assert modified.replay is not None
    assert modified.replay["fidelity"]["verdict"] == "diverged"
    assert baseline.replay is not None
    assert baseline.replay["fidelity"]["verdict"] == "exact"


def test_a_solidity_source_text_patch_is_compiled_in_a_private_temp_dir(
    devnet: Devnet, runtime: tuple[EngineRuntime, Database]
) -> None:
    engine, db = runtime
    fix = get_scenario("reentrancy-bank").fix
    assert fix is not None
    contracts = files("timemachine.catalog") / "scenarios" / "contracts"
    source = (contracts / f"{fix.artifact}.sol").read_text(encoding="utf-8")
    tx = devnet.history.scenario("reentrancy-bank").exploit_tx
    patch = {
        "address": devnet.history.address_of(fix.contract),
        "source_text": source,
        "contract": fix.artifact,
    }
    results = _run(engine, db, "verify_fix", {"tx_hash": tx, "patches": [patch]})
    patched = results[0]
    assert patched.analysis is not None
    assert patched.analysis["verification"]["verdict"] == "stopped"
    [used] = patched.analysis["verification"]["patches"]
    assert used["source"] == "source_text[0]"  # the server's temporary path is not shown
    assert patched.replay is not None
    assert "source_text[0]" in json.dumps(patched.replay["fidelity"])
    temp_root = engine.settings.data_dir / "tmp"  # type: ignore[operator]
    stored = json.dumps([r.model_dump(mode="json") for r in results])
    assert str(temp_root) not in stored
    assert str(engine.settings.data_dir) not in stored
    assert list(temp_root.iterdir()) == []  # removed after use
