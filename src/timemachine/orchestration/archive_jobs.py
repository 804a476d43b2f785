"""The archive's periodic jobs, from the settings: continuous archival of each network of
ARCHIVE_CHAINS, and retention (ARCHIVE_RETENTION) of the archive directory. The Celery beat
tasks (`tasks/archive_tasks.py`) call these; so can any other scheduler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from timemachine.archive.continuous import (
    ArchiveRun,
    ArchiveTarget,
    ChunkExtractor,
    ContinuousArchiver,
)
from timemachine.archive.own import OwnDatasets
from timemachine.archive.retention import Action, apply, parse_policies, plan
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


async def archive_network(
    settings: Settings,
    db: Database,
    rpc: ChainRPC,
    network: str,
    block_extractors: Mapping[str, ChunkExtractor] | None = None,
) -> ArchiveRun:
    """One continuous-archival run of `network`: our own datasets, plus `block_extractors`
    (dataset → extractor of the chain's own datasets, when one is given)."""
    chain_id = quantity(await rpc.call("eth_chainId", []))
    if chain_id is None:
        raise InvalidInputError(f"the node of {network!r} answered no chain id")
    own = OwnDatasets(db, rpc, chain_id, parse_compression(settings.compression_type))
    extractors: dict[str, ChunkExtractor] = dict(block_extractors or {})
    extractors.update({dataset: own for dataset in own.datasets})
    target = ArchiveTarget(
        network,
        extractors,
        chunk_size=settings.batch_size,
        confirmations=settings.archive_confirmations,
        start_block=settings.archive_start_block,
    )
    return await ContinuousArchiver(archive_dir(settings), rpc, target).run_once()


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
    settings: Settings, *, dry_run: bool, policies: str | None = None, root: Path | None = None
) -> list[Action]:
    """ARCHIVE_RETENTION (or `policies`) applied to the archive (or `root`); with `dry_run`,
    only planned."""
    root = root or archive_dir(settings)
    actions = plan(
        root, parse_policies(settings.archive_retention if policies is None else policies)
    )
    if not dry_run and actions:
        apply(root, actions, parse_compression(settings.compression_type))
    return actions
