"""Continuous archival on a live anvil.

- Reorgs (`anvil_reorg`) between runs and one in the middle of an extraction (the real `blocks`
  extractor, `ChainDatasets`): every archived block's hash is the final chain's, the archive is
  contiguous, and the chunk extracted while its blocks were replaced was discarded and extracted
  again.
- Our own datasets from the store: mempool outcomes, alerts, MEV and replays land in the chunk
  of their block (timed rows: of the block whose time window holds them), with exact values."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.integration.chain_support import rpc
from tests.unit.archive_support import swap
from tests.unit.monitor_records import record
from tests.unit.test_analysis_report import drain
from timemachine.analysis import analyze
from timemachine.archive.catalog import list_chunks
from timemachine.archive.chain_datasets import ChainDatasets
from timemachine.archive.chunkfile import chunk_files
from timemachine.archive.continuous import ArchiveTarget, ChunkExtractor, ContinuousArchiver
from timemachine.archive.headers import headers
from timemachine.archive.layout import BlockRange
from timemachine.archive.own import OwnDatasets
from timemachine.archive.query import ArchiveQuery
from timemachine.chain.rpc import RpcClient
from timemachine.errors import InvalidInputError
from timemachine.forks.process import AnvilProcess
from timemachine.mev.models import BlockInspection, BlockSummary
from timemachine.monitor.service import row_of
from timemachine.orchestration import archive_jobs
from timemachine.settings import Settings
from timemachine.store import (
    AlertStore,
    Database,
    MevResults,
    MonitoredTxs,
    ReplaySessions,
    open_database,
)
from timemachine.store.archive import ArchiveCatalog

pytestmark = pytest.mark.integration

GENESIS_TIME = 1_700_000_000
BLOCK_TIME = 12


class HookedExtractor:
    """The real extractor, with a hook run after each chunk's extraction (before its check)."""

    def __init__(self, extractor: ChunkExtractor, on_extract: Any) -> None:
        self.extractor = extractor
        self.on_extract = on_extract

    async def extract(self, network: str, dataset: str, blocks: BlockRange, dest: Path) -> int:
        rows = await self.extractor.extract(network, dataset, blocks, dest)
        await self.on_extract(blocks)
        return rows


@pytest.fixture
async def chain(anvil_binary: Path) -> AsyncIterator[AnvilProcess]:
    process = await AnvilProcess.start(anvil_binary, ["--silent", "--timestamp", str(GENESIS_TIME)])
    try:
        await rpc(process.url, "anvil_setBlockTimestampInterval", BLOCK_TIME)
        yield process
    finally:
        process.stop()


async def mine(url: str, count: int) -> None:
    for _ in range(count):
        await rpc(url, "evm_mine")


async def head(url: str) -> int:
    return int(await rpc(url, "eth_blockNumber"), 16)


async def test_continuous_archival_never_writes_an_orphaned_block(
    chain: AnvilProcess, tmp_path: Path
) -> None:
    root = tmp_path / "archive"
    confirmations = 3
    orphaned: set[str] = set()

    async with RpcClient(chain.url, retries=0) as client:

        async def reorg(depth: int) -> None:
            top = await head(chain.url)
            replaced = await headers(client, top - depth + 1, top)
            await rpc(chain.url, "anvil_reorg", depth, [])
            orphaned.update(h.hash for h in replaced)

        async def reorg_mid_extraction(blocks: BlockRange) -> None:
            """Once, while the chunk next to the final block is being extracted: a reorg deeper
            than the confirmations, replacing blocks of that very chunk."""
            if not orphaned and blocks.end == await head(chain.url) - confirmations:
                await reorg(confirmations + 3)

        extractor = HookedExtractor(ChainDatasets(client, 31337), reorg_mid_extraction)
        target = ArchiveTarget("devnet", {"blocks": extractor}, chunk_size=8,
                               confirmations=confirmations)  # fmt: skip
        archiver = ContinuousArchiver(root, client, target)
        await mine(chain.url, 30)
        first = await archiver.run_once()
        assert first.final_block == 27
        assert first.discarded == ["devnet__blocks__00000024_to_00000026.parquet"]
        assert [w.file for w in first.written] == [
            "devnet__blocks__00000000_to_00000007.parquet",
            "devnet__blocks__00000008_to_00000015.parquet",
            "devnet__blocks__00000016_to_00000023.parquet",
        ]
        assert len(orphaned) == confirmations + 3
        for round_ in range(5):
            await mine(chain.url, 4 + round_)
            run = await archiver.run_once()
            assert run.discarded == []
            await reorg(confirmations)  # above finality: nothing archived is touched
        await archiver.run_once()

        files = chunk_files(root)
        archived = [r for f in files for r in pq.read_table(f.path).to_pylist()]
        numbers = [r["block_number"] for r in archived]
        final_head = await head(chain.url)
        assert numbers == list(range(final_head - confirmations))  # contiguous, once each
        canonical = await headers(client, 0, numbers[-1])
        assert [r["block_hash"].hex() for r in archived] == [h.hash[2:] for h in canonical]
        assert orphaned.isdisjoint("0x" + r["block_hash"].hex() for r in archived)
        assert len(orphaned) == confirmations + 3 + 5 * confirmations
        # no temp file left behind
        assert sorted(p.name for p in root.iterdir()) == sorted(f.path.name for f in files)


def _inspection(block: int) -> BlockInspection:
    summary = BlockSummary(mev_count=0, by_type={}, miner_address=None, coinbase_transfers=0,
                           priority_fees=0, miner_revenue=0)  # fmt: skip
    return BlockInspection(
        block_number=block, miner_address=None, swaps=[swap(block)], arbitrages=[],
        sandwiches=[], liquidations=[], jit_liquidity=[], miner_payments=[], summary=summary,
    )  # fmt: skip


def _seed_store(db: Database) -> dict[str, str]:
    """Rows of the devnet's own datasets; returns the mempool hashes by outcome."""

    def at(block: int, offset: float) -> float:
        return GENESIS_TIME + BLOCK_TIME * block + offset

    hashes = {}
    records = []
    for nonce, status, block, when in (
        (1, "included", 4, at(4, 1)),
        (2, "dropped", None, at(9, 5.5)),
        (3, "replaced", None, at(15, 0)),
        (4, "pending", None, at(3, 0)),
        (5, "included", 19, at(19, 0)),  # not final yet: not archived
    ):
        monitored = record(nonce, seen=at(1, 0))
        monitored = monitored.model_copy(
            update={"tx": monitored.tx.model_copy(update={"chain": "devnet"}), "status": status,
                    "block_number": block, "updated_at": when}
        )  # fmt: skip
        records.append(row_of(monitored))
        hashes[status if nonce != 5 else "late"] = monitored.tx.hash
    result = drain()
    with db.session() as s:
        MonitoredTxs(s).upsert(records)
        MevResults(s).replace_blocks(31337, [_inspection(6), _inspection(17)])
        created = dt.datetime.fromtimestamp(at(7, 2), dt.UTC)
        AlertStore(s).add(
            {"id": "a1", "rule_id": "big-transfer", "severity": "high", "stage": "included",
             "chain": "devnet", "chain_id": 31337, "tx_hash": "0x" + "ab" * 32,
             "block_number": 6, "evidence": {"value": 5}, "matches": 2,
             "created_at": created.isoformat()},
            [], now=0.0,
        )  # fmt: skip
        finished = dt.datetime.fromtimestamp(at(12, 3), dt.UTC)
        sessions = ReplaySessions(s, clock=lambda: finished)
        session = sessions.create(owner="alice", kind="exploit", request={"exploit_id": "x"})
        sessions.start(session.id)
        sessions.store_result(
            session.id, 0, tx_hash=result.tx_hash, replay=result.model_dump(mode="json"),
            analysis=analyze(result).model_dump(mode="json"),
        )  # fmt: skip
        sessions.complete(session.id)
    hashes["session"] = session.id
    return hashes


async def test_own_datasets_are_archived_in_the_chunk_of_their_block(
    chain: AnvilProcess, tmp_path: Path
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    seeded = _seed_store(db)
    root = tmp_path / "archive"
    await mine(chain.url, 20)
    async with RpcClient(chain.url, retries=0) as client:
        own = OwnDatasets(db, client, chain_id=31337)
        target = ArchiveTarget("devnet", dict.fromkeys(own.datasets, own), chunk_size=10,
                               confirmations=2)  # fmt: skip
        run = await ContinuousArchiver(root, client, target).run_once()
    assert run.final_block == 18
    assert len(run.written) == 2 * len(own.datasets)  # [0, 10) and [10, 18) of each
    with ArchiveQuery.under(root) as query:
        mempool = query.sql(
            "SELECT block_number, status, transaction_hash, value_string, first_provider, "
            "providers, settled_at FROM mempool_transactions ORDER BY block_number"
        ).records()
        alerts = query.sql("SELECT block_number, alert_id, alert_block_number, matches, "
                           "evidence, acked FROM alerts").records()  # fmt: skip
        swaps = query.sql("SELECT block_number, chain_id, transaction_hash, trace_address, "
                          "token_in_amount_string, protocol FROM mev_swaps").records()  # fmt: skip
        replays = query.sql("SELECT block_number, session_id, tx_block_number, verdict, "
                            "gas_used, findings, top_severity FROM replays").records()  # fmt: skip
    assert mempool == [
        {"block_number": 4, "status": "included", "transaction_hash": seeded["included"],
         "value_string": str(10**18), "first_provider": "p", "providers": ["p"],
         "settled_at": float(GENESIS_TIME + BLOCK_TIME * 4 + 1)},
        {"block_number": 9, "status": "dropped", "transaction_hash": seeded["dropped"],
         "value_string": str(10**18), "first_provider": "p", "providers": ["p"],
         "settled_at": GENESIS_TIME + BLOCK_TIME * 9 + 5.5},
        {"block_number": 15, "status": "replaced", "transaction_hash": seeded["replaced"],
         "value_string": str(10**18), "first_provider": "p", "providers": ["p"],
         "settled_at": float(GENESIS_TIME + BLOCK_TIME * 15)},
    ]  # fmt: skip
    assert alerts == [
        {"block_number": 7, "alert_id": "a1", "alert_block_number": 6, "matches": 2,
         "evidence": '{"value":5}', "acked": False}
    ]  # fmt: skip
    assert swaps == [
        {"block_number": 6, "chain_id": 31337, "transaction_hash": "0x" + "5a" * 32,
         "trace_address": [0, 1], "token_in_amount_string": str(2**130 + 7),
         "protocol": "uniswap_v2"},
        {"block_number": 17, "chain_id": 31337, "transaction_hash": "0x" + "5a" * 32,
         "trace_address": [0, 1], "token_in_amount_string": str(2**130 + 7),
         "protocol": "uniswap_v2"},
    ]  # fmt: skip
    assert replays == [
        {"block_number": 12, "session_id": seeded["session"], "tx_block_number": 10,
         "verdict": "unverified", "gas_used": 100_000,
         "findings": ["reentrancy", "value_extraction"], "top_severity": "critical"}
    ]  # fmt: skip


async def test_the_beat_jobs_archive_every_configured_network(
    chain: AnvilProcess, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="",
        archive_chains=f"devnet={chain.url}",
        archive_confirmations=2,
        batch_size=10,
        compression_type="zstd 3",
        archive_retention="*:compact=100",
        archive_start_block=3,
    )
    db = open_database(settings.database_url)
    _seed_store(db)
    await mine(chain.url, 25)
    root = tmp_path / "archive"
    root.mkdir()
    stale, live = (root / f".devnet__logs__00000000_to_00000009.parquet.{n}.extracting"
                   for n in ("killed", "running"))  # fmt: skip
    stale.write_bytes(b"partial")
    live.write_bytes(b"partial")
    os.utime(stale, (0, time.time() - 2 * 86_400))
    [run] = await archive_jobs.archive_all(settings, db)
    assert (stale.exists(), live.exists()) == (False, True)  # a killed run's temp is swept
    live.unlink()
    assert (run.network, run.final_block) == ("devnet", 23)
    assert settings.archive_dir == root
    written = chunk_files(root, dataset="alerts")
    assert [f.path.name for f in written] == [
        "devnet__alerts__00000003_to_00000009.parquet",
        "devnet__alerts__00000010_to_00000019.parquet",
        "devnet__alerts__00000020_to_00000022.parquet",
    ]
    assert pq.ParquetFile(written[0].path).metadata.row_group(0).column(0).compression == "ZSTD"
    blocks_files = chunk_files(root, dataset="blocks")
    numbers = [pq.read_table(f.path, columns=["block_number"])[0].to_pylist() for f in blocks_files]
    assert numbers == [list(range(3, 10)), list(range(10, 20)), [20, 21, 22]]
    catalogued = list_chunks(db)
    assert len(catalogued) == 3 * 12  # 4 chain datasets and 8 of ours, 3 chunks each
    entry = next(c for c in catalogued if c.location == str(blocks_files[0].path))
    assert (entry.dataset, entry.start_block, entry.end_block, entry.rows, entry.compression) == (
        "blocks",
        3,
        10,
        7,
        "zstd 3",
    )
    assert entry.sha256 == hashlib.sha256(blocks_files[0].path.read_bytes()).hexdigest()
    actions = archive_jobs.retention(settings, dry_run=False, db=db)
    assert len(actions) == 12  # each dataset's three chunks → one
    assert [f.path.name for f in chunk_files(root, dataset="alerts")] == [
        "devnet__alerts__00000003_to_00000022.parquet"
    ]
    blocks_entries = list_chunks(db, datasets=["blocks"])  # the catalog follows the compaction
    assert [(c.start_block, c.end_block, c.rows, c.deleted_at is None) for c in blocks_entries] == [
        (3, 23, 20, True)
    ]
    assert (
        blocks_entries[0].sha256
        == hashlib.sha256(
            (root / "devnet__blocks__00000003_to_00000022.parquet").read_bytes()
        ).hexdigest()
    )
    with db.session() as s:
        removed = ArchiveCatalog(s).chunks(datasets=["blocks"], include_deleted=True)
    assert [(c.start_block, c.note) for c in removed if c.deleted_at is not None] == [
        (
            start,
            "retention compact (*:compact=100) into devnet__blocks__00000003_to_00000022.parquet",
        )
        for start in (3, 10, 20)
    ]
    await mine(chain.url, 3)
    [again] = await archive_jobs.archive_all(settings, db)  # resumes after the compacted chunk
    assert [w.file for w in again.written if "alerts" in w.file] == [
        "devnet__alerts__00000023_to_00000025.parquet"
    ]
    with ArchiveQuery.under(root) as query:
        blocks = query.sql("SELECT block_number FROM mempool_transactions ORDER BY 1").rows
    assert blocks == [(4,), (9,), (15,), (19,)]  # the tx included in block 19: final by now


def test_archive_chains_say_what_is_wrong() -> None:
    with pytest.raises(InvalidInputError, match="no RPC is configured for it"):
        archive_jobs.archive_networks(Settings(archive_chains="ethereum", web3_rpc_url=None))
    with pytest.raises(InvalidInputError, match="unknown chain 'atlantis'"):
        archive_jobs.archive_networks(Settings(archive_chains="atlantis"))
    assert archive_jobs.archive_networks(Settings(archive_chains=" a=http://x:1 , ")) == [
        archive_jobs.Network("a", "http://x:1")
    ]
