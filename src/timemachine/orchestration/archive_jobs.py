"""The archive's periodic jobs, from the settings: continuous archival of each network of
ARCHIVE_CHAINS (the chain datasets of ARCHIVE_DATASETS and our own), and retention
(ARCHIVE_RETENTION) of the archive directory, both recorded in the catalog. The Celery beat
tasks (`tasks/archive_tasks.py`) call these; so can any other scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from timemachine.archive.catalog import record_retention, record_run
from timemachine.archive.chain_datasets import ChainDatasets
from timemachine.archive.continuous import (
    ArchiveRun,
    ArchiveTarget,
    ChunkExtractor,
    ContinuousArchiver,
)
from timemachine.archive.own import OwnDatasets
from timemachine.archive.retention import Action, apply, parse_policies, plan
from timemachine.archive.schemas import parse_datasets
from timemachine.archive.writer import parse_compression
from timemachine.chain.pool import open_upstream
from timemachine.chain.registry import configured_rpc_url, find_chain
from timemachine.errors import InvalidInputError
from timemachine.hexutil import quantity
from timemachine.ports import ChainRPC
from timemachine.settings import Settings
from timemachine.store import Database


@dataclass(frozen=True)
class Network:
    name: str
    rpc_urls: str


def archive_networks(settings: Settings) -> list[Network]:
    """ARCHIVE_CHAINS: `name` (a known chain, through its configured providers) or `name=url`."""
    networks = []
    for item in (part.strip() for part in settings.archive_chains.split(",")):
        if not item:
            continue
        name, _, url = item.partition("=")
        if url.strip():
            networks.append(Network(name.strip(), url.strip()))
            continue
        chain = find_chain(name)
        urls = configured_rpc_url(chain.chain_id, settings)
        if urls is None:
            raise InvalidInputError(
                f"ARCHIVE_CHAINS names {name!r} but no RPC is configured for it; set its "
                "provider list (e.g. ETHEREUM_RPC_URLS) or write `name=url`"
            )
        networks.append(Network(chain.name, urls))
    return networks


def archive_dir(settings: Settings) -> Path:
    assert settings.archive_dir is not None  # resolved by Settings
    return settings.archive_dir


def chain_datasets(settings: Settings) -> list[str]:
    """ARCHIVE_DATASETS: the chain datasets continuous archival extracts (none when empty)."""
    if not settings.archive_datasets.replace(",", " ").strip():
        return []
    return [dataset.name for dataset in parse_datasets([settings.archive_datasets])]


async def archive_network(
    settings: Settings, db: Database, rpc: ChainRPC, network: str
) -> ArchiveRun:
    """One continuous-archival run of `network`: the chain datasets of ARCHIVE_DATASETS and our
    own datasets; each chunk written is recorded in the catalog."""
    chain_id = quantity(await rpc.call("eth_chainId", []))
    if chain_id is None:
        raise InvalidInputError(f"the node of {network!r} answered no chain id")
    compression = parse_compression(settings.compression_type)
    chain = ChainDatasets(rpc, chain_id, compression)
    own = OwnDatasets(db, rpc, chain_id, compression)
    extractors: dict[str, ChunkExtractor] = dict.fromkeys(chain_datasets(settings), chain)
    extractors.update(dict.fromkeys(own.datasets, own))
    target = ArchiveTarget(
        network,
        extractors,
        chunk_size=settings.batch_size,
        confirmations=settings.archive_confirmations,
        start_block=settings.archive_start_block,
    )
    root = archive_dir(settings)
    run = await ContinuousArchiver(root, rpc, target).run_once()
    record_run(db, run, root, chain_id, compression)
    return run


async def archive_all(settings: Settings, db: Database) -> list[ArchiveRun]:
    """A run over every network of ARCHIVE_CHAINS."""
    runs = []
    for network in archive_networks(settings):
        rpc = open_upstream(network.rpc_urls, settings, chain=network.name)
        try:
            runs.append(await archive_network(settings, db, rpc, network.name))
        finally:
            await rpc.aclose()
    return runs


def retention(
    settings: Settings,
    *,
    dry_run: bool,
    policies: str | None = None,
    root: Path | None = None,
    db: Database | None = None,
) -> list[Action]:
    """ARCHIVE_RETENTION (or `policies`) applied to the archive (or `root`); with `dry_run`,
    only planned. With `db`, the changes are recorded in the catalog too."""
    root = root or archive_dir(settings)
    actions = plan(
        root, parse_policies(settings.archive_retention if policies is None else policies)
    )
    if not dry_run and actions:
        compression = parse_compression(settings.compression_type)
        apply(root, actions, compression)
        if db is not None:
            record_retention(db, actions, compression)
    return actions
