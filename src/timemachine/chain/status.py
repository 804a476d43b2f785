"""`chain status`: measure every provider of a pool and ask a quorum for the head."""

from __future__ import annotations

from timemachine.chain.pool import ProviderPool
from timemachine.chain.registry import get_chain
from timemachine.errors import RpcError, RpcUnavailableError
from timemachine.hexutil import quantity
from timemachine.models.providers import ChainStatus, ProviderStatus, QuorumHead


async def pool_status(pool: ProviderPool, *, chain: str = "") -> ChainStatus:
    """Heads, lag, latency and health of each provider, then the quorum head (an error in
    `quorum_error` when the providers do not agree enough). Raises RpcError only when no
    provider answers at all."""
    heads = await pool.refresh_heads()
    if not any(isinstance(head, int) for head in heads.values()):
        detail = "; ".join(f"{label}: {error}" for label, error in heads.items())
        raise RpcUnavailableError(f"no provider of {chain or 'the pool'} answered: {detail}")
    quorum: QuorumHead | None = None
    quorum_error: str | None = None
    try:
        result = await pool.quorum_tag("latest")
    except RpcError as error:
        quorum_error = error.message
    else:
        number = quantity(result.value.get("number"))
        quorum = QuorumHead(
            number=number if number is not None else -1,
            hash=str(result.value.get("hash")),
            agree=result.agree,
            of=result.of,
            policy=result.policy,
            dissenters=list(result.dissenters),
            said=dict(result.said),
        )
    chain_id: int | None = None
    try:
        chain_id = quantity(await pool.call("eth_chainId"))
    except RpcError:
        chain_id = None
    providers = [
        ProviderStatus(
            url=p.label,
            weight=p.spec.weight,
            head=p.health.head if isinstance(heads.get(p.label), int) else None,
            lag=p.health.lag,
            latency_ms=round(p.health.latency_ms, 3) if p.health.latency_ms is not None else None,
            healthy=not p.health.benched and p.health.lag <= pool.options.max_lag,
            benched=p.health.bench_reason,
            score=round(p.health.score(), 3),
            requests=p.health.requests,
            errors=dict(p.health.errors),
            last_error=p.health.last_error,
        )
        for p in pool.providers
    ]
    if not chain and chain_id is not None:
        chain = get_chain(chain_id).name
    return ChainStatus(
        chain=chain,
        chain_id=chain_id,
        providers=providers,
        quorum=quorum,
        quorum_error=quorum_error,
    )
