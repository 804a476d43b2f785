"""A pool of providers for one chain, with the call interface of `RpcClient`.

Each call goes to the best healthy provider (`chain.health` ranks them by latency, errors, head
lag and weight). On a timeout, a refused connection, HTTP 5xx, a garbage answer, a 429 (its
Retry-After honoured) or a provider that lacks the method or the archive state, the same call
fails over to the next provider at once; when every provider failed, the pool waits (capped
exponential backoff with full jitter) and tries another round. Transport faults bench a provider;
a background probe brings it back when it answers again. Each provider has its own concurrency
and request-rate limits. Answers that are JSON-RPC errors (a revert, an unknown transaction) are
answers: they are returned, not failed over.

`quorum*` methods ask every healthy provider and accept what enough of them agree on
(`chain.quorum`); a provider on a minority fork is benched.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from timemachine.chain import metrics
from timemachine.chain.health import Limits, ProviderHealth, backoff_delay
from timemachine.chain.providers import ProviderSpec, is_pool, parse_providers
from timemachine.chain.quorum import (
    Key,
    QuorumPolicy,
    QuorumResult,
    block_hash,
    canonical,
    parse_policy,
    required_votes,
    tally,
)
from timemachine.chain.rpc import Call, RpcClient
from timemachine.errors import (
    ArchiveStateUnavailableError,
    InvalidInputError,
    MethodUnavailableError,
    RpcBadResponseError,
    RpcError,
    RpcRateLimitedError,
    RpcUnavailableError,
)
from timemachine.hexutil import quantity
from timemachine.logs import get_logger

if TYPE_CHECKING:
    from timemachine.chain.ws import WsRpcClient
    from timemachine.settings import Settings

FAILOVER_ERRORS = (
    RpcUnavailableError,
    RpcRateLimitedError,
    RpcBadResponseError,
    MethodUnavailableError,
    ArchiveStateUnavailableError,
)
MAX_COOLDOWN = 30.0


@dataclass
class PoolOptions:
    """Tuning of a pool (the defaults are what `Settings` gives when unset)."""

    timeout: float = 10.0
    """Per-request timeout of each provider: a hanging provider costs at most this once."""
    rounds: int = 2
    """Extra rounds over every provider after all failed (with backoff in between)."""
    backoff: float = 0.25
    backoff_cap: float = 5.0
    bench_base: float = 1.0
    bench_cap: float = 60.0
    concurrency: int = 16
    rate: float = 0.0
    """Requests per second per provider (0: unlimited)."""
    burst: int = 20
    quorum: QuorumPolicy = "2/3+1"
    max_lag: int = 5
    """A provider more blocks than this behind the best head is not routed to."""
    head_interval: float = 15.0
    """Refresh every provider's head (in the background) when older than this."""


@dataclass(eq=False)
class Provider:
    """One member of a pool: its spec, client, health and limits."""

    spec: ProviderSpec
    client: RpcClient | WsRpcClient
    health: ProviderHealth
    limits: Limits
    probe: asyncio.Task[None] | None = None
    canonical: tuple[int, str] | None = field(default=None)
    """For a provider benched as a minority fork: a (number, hash) of the majority's chain its
    probe must see before it is trusted again."""

    @property
    def label(self) -> str:
        return self.spec.label

    @functools.cached_property
    def meters(self) -> metrics.ProviderMeters:
        return metrics.ProviderMeters.of(self.spec.label)


def _error_kind(error: RpcError) -> str:
    if isinstance(error, RpcRateLimitedError):
        return "rate_limited"
    if isinstance(error, RpcBadResponseError):
        return "bad_response"
    if isinstance(error, ArchiveStateUnavailableError):
        return "no_archive"
    if isinstance(error, MethodUnavailableError):
        return "unsupported"
    message = error.message
    if "timed out" in message:
        return "timeout"
    if "HTTP 5" in message:
        return "http_5xx"
    return "unreachable"


class ProviderPool(RpcClient):
    """Several providers of one chain behind the call interface of `RpcClient`.

    It subclasses RpcClient only so it stands wherever one is expected; every transport method
    is overridden and no HTTP client of its own is opened.
    """

    def __init__(
        self,
        providers: str | Sequence[ProviderSpec],
        options: PoolOptions | None = None,
        *,
        chain: str = "",
    ) -> None:  # no super().__init__: the members own the connections
        specs = parse_providers(providers) if isinstance(providers, str) else list(providers)
        if not specs:
            raise InvalidInputError("a provider pool needs at least one RPC URL")
        self.options = options or PoolOptions()
        self.chain = chain
        self.providers = [self._member(spec) for spec in specs]
        self.label = ",".join(p.label for p in self.providers)
        self.requests = 0
        self.http_requests = 0
        self.retries = self.options.rounds
        self.backoff = self.options.backoff
        self._heads_at = time.monotonic()  # first background refresh after head_interval
        self._refreshing: asyncio.Task[Any] | None = None

    def _member(self, spec: ProviderSpec) -> Provider:
        o = self.options
        client: RpcClient | WsRpcClient
        if spec.websocket:
            from timemachine.chain.ws import WsRpcClient  # websockets: loaded for ws(s) only

            client = WsRpcClient(spec.url, timeout=o.timeout)
        else:
            client = RpcClient(spec.url, timeout=o.timeout, retries=0)
        return Provider(
            spec=spec,
            client=client,
            health=ProviderHealth(weight=spec.weight),
            limits=Limits(o.concurrency, o.rate, o.burst),
        )

    # -- RpcClient interface ------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The best healthy HTTP provider's URL (for tools that need one URL, like anvil's
        --fork-url; prefer the state gateway, which goes through the pool)."""
        ranked = [p for p in self.ranked() if not p.spec.websocket] or [
            p for p in self.providers if not p.spec.websocket
        ]
        return (ranked or self.providers)[0].spec.url

    @url.setter
    def url(self, value: str) -> None:
        raise AttributeError("a pool's URL is chosen by health; it cannot be set")

    async def aclose(self) -> None:
        for task in [p.probe for p in self.providers] + [self._refreshing]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for provider in self.providers:
            await provider.client.aclose()

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Send one call to the best provider, failing over as the module doc says."""
        return await self._route(lambda client: client.call(method, params), method, 1)

    async def batch_settled(self, calls: Sequence[Call]) -> list[Any]:
        """A batch to one provider (failing over as a whole on transport faults); a call the
        provider could not serve (no method, no archive state) is retried alone on the others."""
        if not calls:
            return []
        what = f"a batch of {len(calls)}"
        served: list[Any] = await self._route(
            lambda client: client.batch_settled(calls), what, len(calls)
        )
        for index, result in enumerate(served):
            if isinstance(result, MethodUnavailableError | ArchiveStateUnavailableError):
                method, params = calls[index]
                try:
                    served[index] = await self.call(method, params)
                except RpcError as error:
                    served[index] = error
        return served

    # -- routing --------------------------------------------------------------------------------

    def ranked(self) -> list[Provider]:
        """Providers to try, best first: healthy ones by score (rate-limited ones cooling down
        after the others), then lagging ones by lag, then benched ones (a last resort when
        nothing else answers)."""
        now = time.monotonic()
        max_lag = self.options.max_lag

        def rank(provider: Provider) -> tuple[int, float]:
            health = provider.health
            if health.benched_until is not None:
                return (3, health.benched_until)
            if health.lag > max_lag:
                return (2, float(health.lag))
            return (1 if health.cooldown_until > now else 0, -health.score())

        return sorted(self.providers, key=rank)

    async def _route(
        self, send: Callable[[RpcClient | WsRpcClient], Awaitable[Any]], what: str, count: int
    ) -> Any:
        self._maybe_refresh_heads()
        failures: list[tuple[Provider, RpcError]] = []
        for attempt in range(self.options.rounds + 1):
            now = time.monotonic()
            ranked = self.ranked()
            # Rate-limited providers are waited for only once every other one has failed.
            order = [p for p in ranked if p.health.cooldown_until <= now] + sorted(
                (p for p in ranked if p.health.cooldown_until > now),
                key=lambda p: p.health.cooldown_until,
            )
            for position, provider in enumerate(order):
                wait = provider.health.cooldown_until - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(min(wait, MAX_COOLDOWN))
                try:
                    result = await self._send(provider, send, count)
                except FAILOVER_ERRORS as error:
                    failures.append((provider, error))
                    if position + 1 < len(order):
                        provider.health.failovers += 1
                        provider.meters.failovers.inc()
                        get_logger(__name__).info(
                            "rpc failover", provider=provider.label, call=what, error=error.message
                        )
                    continue
                return result
            if attempt < self.options.rounds:
                await asyncio.sleep(
                    backoff_delay(attempt, self.options.backoff, self.options.backoff_cap)
                )
        raise _pool_error(what, failures, len(self.providers))

    async def _send(
        self,
        provider: Provider,
        send: Callable[[RpcClient | WsRpcClient], Awaitable[Any]],
        count: int,
    ) -> Any:
        self.requests += count
        self.http_requests += 1
        meters = provider.meters
        meters.requests.inc(count)
        started = time.perf_counter()
        try:
            async with provider.limits:
                result = await send(provider.client)
        except FAILOVER_ERRORS as error:
            self._fault(provider, error)
            raise
        except RpcError:  # an answer (revert, unknown tx): the provider is fine
            provider.health.success(time.perf_counter() - started)
            raise
        elapsed = time.perf_counter() - started
        provider.health.success(elapsed)
        meters.latency.observe(elapsed)
        meters.score.set(provider.health.score())
        return result

    def _fault(self, provider: Provider, error: RpcError) -> None:
        kind = _error_kind(error)
        metrics.ERRORS.labels(provider.label, kind).inc()
        health = provider.health
        if isinstance(error, MethodUnavailableError | ArchiveStateUnavailableError):
            health.errors[kind] += 1  # a capability gap, not a health fault
            return
        health.failure(kind, error.message)
        if isinstance(error, RpcRateLimitedError):
            delay = error.retry_after or backoff_delay(
                health.consecutive_errors, self.options.backoff, self.options.backoff_cap
            )
            health.cooldown_until = time.monotonic() + min(delay, MAX_COOLDOWN)
            return
        self.bench(provider, kind)

    def bench(
        self, provider: Provider, reason: str, canonical: tuple[int, str] | None = None
    ) -> None:
        """Take `provider` out of rotation until its probe succeeds (see module doc)."""
        duration = provider.health.bench(reason, self.options.bench_base, self.options.bench_cap)
        provider.canonical = canonical or provider.canonical
        provider.meters.benched.set(1)
        get_logger(__name__).info(
            "rpc provider benched", provider=provider.label, reason=reason, seconds=duration
        )
        if provider.probe is None or provider.probe.done():
            provider.probe = asyncio.create_task(self._probe(provider))

    async def _probe(self, provider: Provider) -> None:
        while provider.health.benched_until is not None:
            await asyncio.sleep(max(0.0, provider.health.benched_until - time.monotonic()))
            if await self._probe_once(provider):
                provider.health.unbench()
                provider.canonical = None
                provider.meters.benched.set(0)
                get_logger(__name__).info("rpc provider back in rotation", provider=provider.label)
                return
            reason = provider.health.bench_reason or "probe failed"
            provider.health.bench(reason, self.options.bench_base, self.options.bench_cap)

    async def _probe_once(self, provider: Provider) -> bool:
        started = time.perf_counter()
        try:
            if provider.canonical is not None:
                number, expected = provider.canonical
                block = await provider.client.call("eth_getBlockByNumber", [hex(number), False])
                ok = isinstance(block, dict) and block.get("hash") == expected
            else:
                ok = quantity(await provider.client.call("eth_blockNumber")) is not None
        except RpcError:
            return False
        if ok:
            provider.health.success(time.perf_counter() - started)
        return ok

    # -- heads and lag ----------------------------------------------------------------------------

    def _maybe_refresh_heads(self) -> None:
        if (
            len(self.providers) < 2
            or time.monotonic() - self._heads_at < self.options.head_interval
        ):
            return
        if self._refreshing is None or self._refreshing.done():
            self._heads_at = time.monotonic()
            self._refreshing = asyncio.create_task(self.refresh_heads())

    async def refresh_heads(self) -> dict[str, int | RpcError]:
        """Ask every provider (benched ones included, rate-limited ones spared) for its head;
        update lag and latency."""
        self._heads_at = time.monotonic()

        async def head(provider: Provider) -> int | RpcError:
            if provider.health.cooling():  # rate-limited: spare it, keep what we knew
                return (
                    provider.health.head
                    if provider.health.head is not None
                    else RpcRateLimitedError(f"{provider.label} is cooling down after HTTP 429")
                )
            started = time.perf_counter()
            try:
                number = quantity(await provider.client.call("eth_blockNumber"))
            except RpcError as error:
                if not provider.health.benched and not isinstance(error, RpcRateLimitedError):
                    self._fault(provider, error)
                return error
            if number is None:
                return RpcBadResponseError(f"{provider.label} answered a non-number head")
            provider.health.success(time.perf_counter() - started)
            provider.health.head = number
            return number

        answers = await asyncio.gather(*(head(p) for p in self.providers))
        numbers = [a for a in answers if isinstance(a, int)]
        best = max(numbers, default=None)
        for provider, answer in zip(self.providers, answers, strict=True):
            provider.health.lag = (
                best - answer if best is not None and isinstance(answer, int) else 0
            )
        return {p.label: a for p, a in zip(self.providers, answers, strict=True)}

    # -- quorum -----------------------------------------------------------------------------------

    def voters(self) -> list[Provider]:
        return [p for p in self.providers if not p.health.benched]

    async def ask_all(
        self, method: str, params: Sequence[Any] = (), providers: Sequence[Provider] | None = None
    ) -> dict[str, Any]:
        """Label → answer (or RpcError) of every given (default: healthy) provider, concurrently."""
        members = list(providers if providers is not None else self.voters() or self.providers)

        async def one(provider: Provider) -> Any:
            try:
                return await self._send(provider, lambda c: c.call(method, params), 1)
            except RpcError as error:
                return error

        answers = await asyncio.gather(*(one(p) for p in members))
        return dict(zip((p.label for p in members), answers, strict=True))

    async def quorum(
        self,
        method: str,
        params: Sequence[Any] = (),
        *,
        key: Key = canonical,
        policy: QuorumPolicy | str | None = None,
        canonical_of: Callable[[Any], tuple[int, str] | None] | None = None,
    ) -> QuorumResult:
        """Ask every healthy provider; accept the answer `policy` (default: the pool's) needs.
        Providers on the minority side are benched (with `canonical_of(answer)` as the block
        their probe must see)."""
        chosen = parse_policy(policy) if isinstance(policy, str) else self.options.quorum
        answers = await self.ask_all(method, params)
        by_label = {p.label: p for p in self.providers}
        result, minority = tally(
            answers,
            policy=chosen,
            key=key,
            benched_after=lambda label: by_label[label].health.benched,
            what=f"{method}{list(params)}",
        )
        for label in minority:
            provider = by_label[label]
            metrics.ERRORS.labels(label, "minority_fork").inc()
            provider.health.fault("minority_fork", f"disagrees on {method}")
            anchor = canonical_of(result.value) if canonical_of is not None else None
            self.bench(provider, "minority fork", anchor)
        return result

    async def quorum_block(
        self, block: int | str, *, policy: QuorumPolicy | str | None = None
    ) -> QuorumResult:
        """The block at a height (or tag) that a quorum agrees on, by hash."""
        tag = hex(block) if isinstance(block, int) else block
        return await self.quorum(
            "eth_getBlockByNumber",
            [tag, False],
            key=block_hash,
            policy=policy,
            canonical_of=_number_and_hash,
        )

    async def quorum_tag(
        self, tag: str = "latest", *, policy: QuorumPolicy | str | None = None
    ) -> QuorumResult:
        """The head (`latest`) or `finalized`/`safe` block a quorum agrees on: the highest
        height enough providers have reached, then a quorum on the hash at that height."""
        chosen = parse_policy(policy) if isinstance(policy, str) else self.options.quorum
        answers = await self.ask_all("eth_getBlockByNumber", [tag, False])
        heights = sorted(
            (
                n
                for a in answers.values()
                if isinstance(a, dict) and (n := quantity(a.get("number"))) is not None
            ),
            reverse=True,
        )
        if not heights:
            who = "; ".join(f"{label}: {a}" for label, a in answers.items())
            raise RpcUnavailableError(f"no provider answered the {tag} block: {who}")
        need = required_votes(chosen, len(heights))
        return await self.quorum_block(heights[min(need, len(heights)) - 1], policy=chosen)


def _number_and_hash(block: Any) -> tuple[int, str] | None:
    if not isinstance(block, dict):
        return None
    number = quantity(block.get("number"))
    return (number, str(block.get("hash"))) if number is not None else None


def _pool_error(what: str, failures: list[tuple[Provider, RpcError]], size: int) -> RpcError:
    """One error for a call every provider failed, of the kind that says most."""
    if not failures:
        return RpcUnavailableError(f"no provider of the pool could take {what}")
    last: dict[str, RpcError] = {p.label: e for p, e in failures}
    if len(last) == 1 and size == 1:
        return next(iter(last.values()))
    detail = "; ".join(f"{label}: {error.message}" for label, error in last.items())
    kinds = {type(error) for error in last.values()}
    kind: type[RpcError] = kinds.pop() if len(kinds) == 1 else RpcUnavailableError
    return kind(f"every provider failed {what} ({detail})")


def pool_options(settings: Settings) -> PoolOptions:
    """Pool tuning from the settings (RPC_TIMEOUT, RPC_RETRIES, RPC_BACKOFF, RPC_QUORUM, …)."""
    return PoolOptions(
        timeout=settings.rpc_timeout,
        rounds=min(settings.rpc_retries, 2),
        backoff=settings.rpc_backoff,
        concurrency=settings.rpc_provider_concurrency,
        rate=settings.rpc_provider_rate,
        quorum=parse_policy(settings.rpc_quorum),
        max_lag=settings.rpc_max_head_lag,
    )


def open_upstream(urls: str, settings: Settings, *, chain: str = "") -> RpcClient:
    """The client for an `--rpc-url` value: a plain RpcClient for one http(s) URL (as before),
    a ProviderPool for a list, a weighted URL or a WebSocket URL."""
    if not is_pool(urls):
        return RpcClient(
            urls.strip(),
            timeout=settings.rpc_timeout,
            retries=settings.rpc_retries,
            backoff=settings.rpc_backoff,
        )
    return ProviderPool(urls, pool_options(settings), chain=chain)
