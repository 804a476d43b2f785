"""A session replays through its owner's stored provider URL (decrypted from the vault only in
the worker); another owner's session never touches it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from timemachine.bus import LocalBus
from timemachine.chain.jsonrpc_server import JsonRpcServer
from timemachine.devnet import Devnet
from timemachine.orchestration.progress import Reporter
from timemachine.orchestration.runtime import EngineRuntime
from timemachine.orchestration.sessions import run_session
from timemachine.security.vault import Vault
from timemachine.settings import Settings
from timemachine.store import Database, ProviderCredentials, ReplaySessions, open_database

pytestmark = pytest.mark.integration
SECRET = "s3cr3t-provider-key-7f3a"


class Provider:
    """A loopback provider in front of the devnet that records the request paths it served."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.paths: list[str] = []
        self.client = httpx.AsyncClient(timeout=60)
        self.server = JsonRpcServer(raw=self.answer)

    async def answer(self, request_line: bytes, body: bytes) -> tuple[int, bytes]:
        self.paths.append(request_line.split(b" ")[1].decode())
        response = await self.client.post(
            self.upstream, content=body, headers={"content-type": "application/json"}
        )
        return response.status_code, response.content


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[tuple[EngineRuntime, Database, Settings]]:
    settings = Settings(data_dir=tmp_path, outbound_allow_hosts="127.0.0.1")  # loopback provider
    db = open_database(settings.database_url)
    engine = EngineRuntime(settings)
    yield engine, db, settings
    engine.close()
    db.dispose()


def _replay(engine: EngineRuntime, db: Database, owner: str, tx: str) -> str:
    with db.session() as s:
        record = ReplaySessions(s).create(
            owner=owner,
            kind="transactions",
            request={"transactions": [{"hash": tx, "chain_id": 31337}]},
        )
    run_session(db, engine, Reporter(db, LocalBus(), record.id))
    with db.session() as s:
        done = ReplaySessions(s).require(record.id)
        assert (done.status, done.error) == ("completed", None)
        [result] = ReplaySessions(s).results(record.id)
    assert result.replay is not None
    verdict: str = result.replay["fidelity"]["verdict"]
    return verdict


def test_the_owners_stored_provider_carries_the_replay(
    devnet: Devnet, runtime: tuple[EngineRuntime, Database, Settings]
) -> None:
    engine, db, settings = runtime
    provider = Provider(devnet.rpc_url)
    engine.run(provider.server.start())
    try:
        with db.session() as s:
            ProviderCredentials(s, Vault.from_settings(settings)).store(
                owner="alice", chain_id=31337, url=f"{provider.server.url}/v2/{SECRET}"
            )
        tx = devnet.history.scenario("reentrancy-bank").exploit_tx
        assert _replay(engine, db, "alice", tx) == "exact"
        assert provider.paths
        assert set(provider.paths) == {f"/v2/{SECRET}"}

        served = len(provider.paths)
        assert _replay(engine, db, "bob", tx) == "exact"  # bob: the embedded devnet
        assert len(provider.paths) == served
    finally:
        engine.run(provider.server.stop())
        engine.run(provider.client.aclose())
