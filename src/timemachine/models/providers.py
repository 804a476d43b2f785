"""Provider pool status (`timemachine chain status`): every URL here is a redacted label."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProviderStatus(BaseModel):
    """One provider of a pool, as last measured."""

    url: str = Field(description="Redacted label (scheme://host[:port]); never the key.")
    weight: int = 1
    head: int | None = Field(description="Its latest block number (None: it did not answer).")
    lag: int = Field(description="Blocks behind the best provider's head.")
    latency_ms: float | None = Field(description="Latency (moving average) of its answers.")
    healthy: bool = Field(description="Not benched and not lagging more than allowed.")
    benched: str | None = Field(default=None, description="Why it is benched, if it is.")
    score: float = Field(description="Ranking score (latency, errors, lag, weight).")
    requests: int = 0
    errors: dict[str, int] = Field(default_factory=dict, description="Failures by kind.")
    last_error: str | None = None


class QuorumHead(BaseModel):
    """The head a quorum of the healthy providers agrees on."""

    number: int
    hash: str
    agree: int
    of: int = Field(description="Healthy providers counted (minority forks are benched).")
    policy: str
    dissenters: list[str] = Field(default_factory=list)
    said: dict[str, str] = Field(default_factory=dict, description="Who answered which hash.")


class ChainStatus(BaseModel):
    """Providers of one chain and the quorum head."""

    chain: str
    chain_id: int | None = None
    providers: list[ProviderStatus]
    quorum: QuorumHead | None = None
    quorum_error: str | None = None
