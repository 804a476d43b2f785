"""Import real devnet txs (file, block and address scan) and batch-replay them: all exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from timemachine.chain.rpc import RpcClient
from timemachine.chain.scan import scan_blocks
from timemachine.cli.main import app
from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.tx_imports import BatchTarget
from timemachine.orchestration.tx_imports import (
    import_file,
    import_targets,
    items_from_scan,
    store_import,
)
from timemachine.replay.batch import replay_batch
from timemachine.store import open_database

pytestmark = pytest.mark.integration


async def test_scan_import_and_batch_replay_are_exact(
    devnet: Devnet, machine: TimeMachine, tmp_path: Path
) -> None:
    busy = devnet.history.busy_block
    async with RpcClient(devnet.rpc_url) as rpc:
        scanned = await scan_blocks(rpc, busy - 2, busy, batch=2)
        block = await rpc.call("eth_getBlockByNumber", [hex(busy), False])
    assert [tx.hash for tx in scanned if tx.block == busy] == [
        h.lower() for h in block["transactions"]
    ]
    assert all(tx.block in range(busy - 2, busy + 1) for tx in scanned)
    # Only some txs of the busy block (the last one depends on earlier ones), plus a failure.
    chosen = [tx for tx in scanned if tx.block == busy][-3:] + [
        tx for tx in scanned if tx.block < busy
    ]
    unknown = "0x" + "ab" * 32
    targets = [BatchTarget(hash=tx.hash, chain_id=31337, block=tx.block) for tx in chosen]
    targets.append(BatchTarget(hash=unknown, chain_id=31337))
    targets.append(BatchTarget(hash=chosen[0].hash, chain_id=1))  # other chain: not replayed
    seen: list[tuple[int, int]] = []
    report = await replay_batch(
        await machine.engine(),
        targets,
        concurrency=2,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert report.total == len(chosen) + 2
    assert (report.exact, report.diverged, report.failed) == (len(chosen), 0, 2)
    reasons = sorted(r.reason for r in report.failure_reasons)
    assert reasons[0].startswith("imported for chain 1, but http://127.0.0.1")
    assert reasons[1].startswith(f"transaction {unknown} is unknown")
    rows = {row.hash: row for row in report.rows[: len(chosen)]}
    busy_tx = devnet.history.busy_tx.lower()
    if busy_tx in rows:
        assert (rows[busy_tx].index or 0) > 0  # after earlier txs of its block
    for tx in chosen:
        row = rows[tx.hash]
        assert row.verdict == "exact", row
        assert (row.block, row.index) == (tx.block, tx.index)
        assert row.gas_original == row.gas_replayed
    assert seen[-1] == (report.total, report.total)
    assert report.replays_per_second > 0
    assert report.blocks == len({tx.block for tx in chosen})

    # Stored via an RPC scan, then replayed by import id.
    db = open_database(f"sqlite:///{tmp_path / 'scan.db'}")
    parsed = items_from_scan((tx.as_row() for tx in scanned), 31337)
    stored = store_import(db, "alice", "scan", parsed, batch_size=2)
    assert (stored.accepted, stored.duplicates, stored.rejected) == (len(scanned), 0, 0)
    targets_back = import_targets(db, "alice", stored.import_id or "")
    assert [t.hash for t in targets_back] == [tx.hash for tx in scanned]
    again = store_import(db, "alice", "scan", parsed)
    assert (again.accepted, again.duplicates) == (0, len(scanned))
    by_id = await replay_batch(await machine.engine(), targets_back)
    assert (by_id.exact, by_id.total) == (len(scanned), len(scanned))
    db.dispose()


async def test_address_scan_finds_only_that_address(devnet: Devnet) -> None:
    exploit = devnet.history.scenarios[0]
    async with RpcClient(devnet.rpc_url) as rpc:
        tx = await rpc.call("eth_getTransactionByHash", [exploit.exploit_tx])
        everything = await scan_blocks(rpc, 0, devnet.history.head_block)
        mine = await scan_blocks(rpc, 0, devnet.history.head_block, address=tx["from"])
    assert len(everything) == devnet.history.transactions
    assert exploit.exploit_tx.lower() in [t.hash for t in mine]
    sender = tx["from"].lower()
    assert mine == [t for t in everything if sender in (t.sender, t.to)]
    assert 0 < len(mine) < len(everything)


def test_cli_import_file_then_batch_replay(devnet: Devnet, tmp_path: Path) -> None:
    exploit = devnet.history.scenarios[0]
    path = tmp_path / "txs.csv"
    path.write_text(
        "hash,chain,label,analyst\n"
        f"{exploit.exploit_tx},devnet,{exploit.id},eve\n"
        f"{devnet.history.busy_tx},31337,busy,\n"
        "0xnothex,devnet,bad,\n"
    )
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["import", str(path), "--json", "--database", url])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    import_id = summary.pop("import_id")  # scripts read it to replay the import later
    assert summary == {
        "accepted": 2,
        "rejected": 1,
        "duplicates": 0,
        "errors": [
            {"line": 4, "reason": "not a transaction hash (0x + 64 hex digits): '0xnothex'"}
        ],
    }
    again = runner.invoke(
        app,
        ["import", str(path), "--json", "--database", url, "--replay", "-r", devnet.rpc_url],
    )
    assert again.exit_code == 0, again.output
    document = json.loads(again.stdout)
    assert (document["accepted"], document["duplicates"]) == (0, 2)
    assert (document["replay"]["exact"], document["replay"]["total"]) == (2, 2)
    with_db = open_database(url)
    stored = import_file(with_db, path, owner="anonymous")
    with_db.dispose()
    assert stored.accepted == 0
    by_id = runner.invoke(
        app, ["batch-replay", "--import-id", import_id, "--database", url, "-r", devnet.rpc_url]
    )
    assert by_id.exit_code == 0, by_id.output
    assert "2 exact" in by_id.stdout
    table = runner.invoke(app, ["batch-replay", str(path), "-r", devnet.rpc_url])
    assert table.exit_code == 0, table.output
    assert "2 exact" in table.stdout
    assert "rows of" in table.stderr  # the bad row is skipped with a warning
    bad = tmp_path / "bad.json"
    bad.write_text('{"hash": "0x"}')
    refused = runner.invoke(app, ["import", str(bad), "--database", url])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: the JSON in")
    assert refused.stderr.count("\n") == 1
