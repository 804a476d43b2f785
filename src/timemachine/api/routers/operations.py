"""Operations over HTTP (the console's operations page): the provider pools this deployment is
configured with, each pool measured on demand (heads, lag, latency, health, quorum head — what
`timemachine chain status` prints) and the job queues' waiting tasks. Admins only, as the
health details are: they name hosts and describe the deployment's load."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from timemachine.api.auth import Admin
from timemachine.api.deps import AppSettings
from timemachine.api.metrics import queue_lengths
from timemachine.api.routers.replay import ERRORS
from timemachine.chain.pool import ProviderPool, pool_options
from timemachine.chain.providers import parse_providers
from timemachine.chain.registry import configured_rpc_url, known_chains
from timemachine.chain.status import pool_status
from timemachine.errors import NotFoundError, RpcUnavailableError
from timemachine.models.providers import ChainStatus
from timemachine.settings import Settings

router = APIRouter(prefix="/api/v1/operations", tags=["operations"])
MONITOR_POOL = "monitor"
STATUS_SECONDS = 10.0
PoolName = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,64}$")]


class ConfiguredPool(BaseModel):
    name: str = Field(description="The chain's name, or `monitor` for MONITOR_RPC_URLS.")
    chain_id: int | None = Field(description="Known for a registry chain; measured otherwise.")
    providers: list[str] = Field(description="Redacted labels.")


def _pools(settings: Settings) -> dict[str, tuple[int | None, str]]:
    """Name → (chain id, provider URLs) of every configured pool."""
    found: dict[str, tuple[int | None, str]] = {}
    for chain in known_chains():
        urls = configured_rpc_url(chain.chain_id, settings)
        if urls:
            found[chain.name] = (chain.chain_id, urls)
    if settings.monitor_rpc_urls.strip():
        found[MONITOR_POOL] = (None, settings.monitor_rpc_urls.strip())
    return found


@router.get("/chains", response_model=list[ConfiguredPool], responses=ERRORS)
def chains(admin: Admin, settings: AppSettings) -> list[ConfiguredPool]:
    """The configured provider pools: every chain with providers, and the monitor's own."""
    del admin
    return [
        ConfiguredPool(
            name=name, chain_id=chain_id, providers=[p.label for p in parse_providers(urls)]
        )
        for name, (chain_id, urls) in _pools(settings).items()
    ]


@router.get("/chains/{name}/status", response_model=ChainStatus, responses=ERRORS)
async def chain_status(name: PoolName, admin: Admin, settings: AppSettings) -> ChainStatus:
    """Measure one pool now: each provider's head, lag, latency and health, and the head a
    quorum agrees on (502 when no provider answers within 10 s)."""
    del admin
    pools = _pools(settings)
    if name not in pools:
        raise NotFoundError(f"no provider pool {name!r}; configured: {', '.join(pools) or 'none'}")
    chain_id, urls = pools[name]
    options = dataclasses.replace(pool_options(settings), timeout=STATUS_SECONDS / 2, rounds=0)
    pool = ProviderPool(urls, options, chain="" if chain_id is None else name)
    try:
        async with pool, asyncio.timeout(STATUS_SECONDS):
            return await pool_status(pool, chain="" if chain_id is None else name)
    except TimeoutError:
        raise RpcUnavailableError(
            f"the providers of {name} did not answer within {STATUS_SECONDS:g} s"
        ) from None


@router.get("/queues", response_model=dict[str, int], responses=ERRORS)
def queues(admin: Admin, settings: AppSettings) -> dict[str, int]:
    """Tasks waiting per job queue (empty when the broker cannot tell)."""
    del admin
    return queue_lengths(settings)
