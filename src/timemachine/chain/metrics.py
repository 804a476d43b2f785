"""Prometheus metrics of the chain-access layer, in their own registry (`CHAIN_REGISTRY`).

The API's `/metrics` includes them (`ChainCollector`) for what runs in the API process;
`timemachine chain watch --metrics-port` serves them for a watcher. Every `provider` label is a
redacted label (`scheme://host[:port]`), never a URL with its key.

- `timemachine_rpc_requests_total{provider}`: JSON-RPC calls sent (a batch of n counts n).
- `timemachine_rpc_errors_total{provider,kind}`: failures by kind (timeout, unreachable,
  http_5xx, rate_limited, bad_response, unsupported, no_archive, minority_fork).
- `timemachine_rpc_failovers_total{provider}`: calls this provider failed that another answered.
- `timemachine_rpc_latency_seconds{provider}`: successful call latency.
- `timemachine_rpc_benched{provider}`: 1 while benched, else 0.
- `timemachine_rpc_health_score{provider}`: the ranking score (`chain.health`).
- `timemachine_chain_reorgs_total{chain}` and `timemachine_chain_reorg_depth{chain}` (histogram).
- `timemachine_replay_upstream_requests{upstream}` (histogram): upstream calls per replay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

CHAIN_REGISTRY = CollectorRegistry()
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "timemachine_rpc_requests", "JSON-RPC calls sent", ["provider"], registry=CHAIN_REGISTRY
)
ERRORS = Counter(
    "timemachine_rpc_errors",
    "Provider failures by kind",
    ["provider", "kind"],
    registry=CHAIN_REGISTRY,
)
FAILOVERS = Counter(
    "timemachine_rpc_failovers",
    "Calls a provider failed that the pool sent to another",
    ["provider"],
    registry=CHAIN_REGISTRY,
)
LATENCY = Histogram(
    "timemachine_rpc_latency_seconds",
    "Latency of successful calls",
    ["provider"],
    buckets=LATENCY_BUCKETS,
    registry=CHAIN_REGISTRY,
)
BENCHED = Gauge(
    "timemachine_rpc_benched",
    "1 while the provider is benched",
    ["provider"],
    registry=CHAIN_REGISTRY,
)
SCORE = Gauge(
    "timemachine_rpc_health_score", "Provider ranking score", ["provider"], registry=CHAIN_REGISTRY
)
REORGS = Counter(
    "timemachine_chain_reorgs", "Chain reorganizations seen", ["chain"], registry=CHAIN_REGISTRY
)
REORG_DEPTH = Histogram(
    "timemachine_chain_reorg_depth",
    "Blocks replaced per reorganization",
    ["chain"],
    buckets=(1, 2, 3, 5, 8, 13, 21, 34, 64, 128),
    registry=CHAIN_REGISTRY,
)
REPLAY_REQUESTS = Histogram(
    "timemachine_replay_upstream_requests",
    "Upstream JSON-RPC calls per replay",
    ["upstream"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000),
    registry=CHAIN_REGISTRY,
)


@dataclass(frozen=True, slots=True)
class ProviderMeters:
    """One provider's labelled children, looked up once (labels() costs per call add up)."""

    requests: Any
    failovers: Any
    latency: Any
    benched: Any
    score: Any

    @classmethod
    def of(cls, provider: str) -> ProviderMeters:
        return cls(
            requests=REQUESTS.labels(provider),
            failovers=FAILOVERS.labels(provider),
            latency=LATENCY.labels(provider),
            benched=BENCHED.labels(provider),
            score=SCORE.labels(provider),
        )


class ChainCollector(Collector):
    """`CHAIN_REGISTRY`'s metrics, for another registry to include (the API's `/metrics`)."""

    def collect(self) -> Iterable[Metric]:
        return CHAIN_REGISTRY.collect()


def observe_replay(upstream_label: str, requests: int) -> None:
    """Record the upstream calls one replay made (`upstream_label`: redacted, as in messages)."""
    REPLAY_REQUESTS.labels(upstream_label).observe(requests)


def observe_reorg(chain: str, depth: int) -> None:
    REORGS.labels(chain).inc()
    REORG_DEPTH.labels(chain).observe(depth)
