"""Provider lists, quorum arithmetic, health scores, backoff and rate limits, the settings and
registry wiring of provider lists, and by-number cache invalidation (no network needed)."""

from __future__ import annotations

import re
import time

import pytest

from timemachine.chain.gateway import StateGateway
from timemachine.chain.health import ProviderHealth, TokenBucket, backoff_delay
from timemachine.chain.pool import PoolOptions, ProviderPool, open_upstream, pool_options
from timemachine.chain.providers import is_pool, parse_providers, redact_urls
from timemachine.chain.quorum import block_hash, parse_policy, required_votes, tally
from timemachine.chain.registry import configured_rpc_url
from timemachine.chain.rpc import RpcClient
from timemachine.chain.tracker import BlockRef, ChainReorged
from timemachine.errors import InvalidInputError, QuorumError, RpcUnavailableError
from timemachine.machine import resolve_rpc_url
from timemachine.settings import Settings


def test_a_comma_separated_list_with_weights_parses_and_redacts() -> None:
    specs = parse_providers(
        " https://eth.example/v3/KEY1#weight=3, wss://ws.example/KEY2 ,"
        "https://user:pw@eth.example/v3/KEY3,https://eth.example/v3/KEY1"
    )
    assert [(s.url, s.weight, s.label) for s in specs] == [
        ("https://eth.example/v3/KEY1", 3, "https://eth.example"),
        ("wss://ws.example/KEY2", 1, "wss://ws.example"),
        ("https://user:pw@eth.example/v3/KEY3", 1, "https://eth.example#2"),
    ]
    assert [s.websocket for s in specs] == [False, True, False]
    assert redact_urls("https://a.example/K1,http://127.0.0.1:8545/K2") == (
        "https://a.example,http://127.0.0.1:8545"
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("ftp://x.example/SECRET", "not a valid http(s) or ws(s) URL"),
        ("https://x.example/SECRET#weight=0", "weight must be 1..1000"),
        ("https://x.example/SECRET#weight=abc", "the only option is #weight=N"),
        ("https://x.example/SECRET#priority=2", "the only option is #weight=N"),
        (" , ", "no RPC URL given"),
    ],
)
def test_bad_provider_lists_fail_with_a_key_free_message(value: str, words: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(words)) as caught:
        parse_providers(value)
    assert "SECRET" not in str(caught.value)


def test_one_plain_url_keeps_the_plain_client_and_a_list_gets_a_pool() -> None:
    settings = Settings(rpc_timeout=3.0, rpc_retries=1)
    assert not is_pool("http://127.0.0.1:8545")
    assert is_pool("http://127.0.0.1:8545#weight=2")
    assert is_pool("ws://127.0.0.1:8545")
    assert is_pool("http://a:1,http://b:2")
    single = open_upstream("http://127.0.0.1:8545", settings)
    assert type(single) is RpcClient
    assert single.retries == 1
    pool = open_upstream("http://127.0.0.1:1/K,http://127.0.0.1:2", settings)
    assert isinstance(pool, ProviderPool)
    assert pool.label == "http://127.0.0.1:1,http://127.0.0.1:2"
    assert pool.options.timeout == 3.0
    assert pool.url == "http://127.0.0.1:1/K"  # the best provider (untried: first listed)


def test_env_lists_join_the_single_url_names_per_chain() -> None:
    settings = Settings(
        web3_rpc_url="https://a.example/K",
        ethereum_rpc_urls="https://b.example/K,https://a.example/K",
        arbitrum_rpc_urls="https://arb.example/K#weight=2",
        bsc_rpc_url="https://bsc1.example",
        bsc_rpc_urls="https://bsc2.example",
    )
    assert configured_rpc_url(1, settings) == "https://b.example/K,https://a.example/K"
    assert configured_rpc_url(42_161, settings) == "https://arb.example/K#weight=2"
    assert configured_rpc_url(56, settings) == "https://bsc2.example,https://bsc1.example"
    assert configured_rpc_url(10, settings) is None
    assert resolve_rpc_url(None, settings) == "https://b.example/K,https://a.example/K"
    # --rpc-url defaults to WEB3_RPC_URL: that value still gets the list joined ...
    assert resolve_rpc_url("https://a.example/K", settings).startswith("https://b.example/K")
    # ... an explicit other value wins alone.
    assert resolve_rpc_url("http://127.0.0.1:8545", settings) == "http://127.0.0.1:8545"


def test_pool_settings_are_validated() -> None:
    assert pool_options(Settings(rpc_quorum="majority")).quorum == "majority"
    with pytest.raises(ValueError, match="rpc_quorum"):
        Settings(rpc_quorum="most")
    with pytest.raises(InvalidInputError, match="unknown quorum policy"):
        parse_policy("3/4")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("any", [1, 1, 1, 1, 1]),
        ("majority", [1, 2, 2, 3, 3]),
        ("2/3+1", [1, 2, 3, 3, 4]),
        ("all", [1, 2, 3, 4, 5]),
    ],
)
def test_required_votes(policy: str, expected: list[int]) -> None:
    assert [required_votes(parse_policy(policy), n) for n in range(1, 6)] == expected


def test_tally_benches_the_minority_and_counts_only_healthy_providers() -> None:
    answers = {"a": {"hash": "0x1"}, "b": {"hash": "0x1"}, "c": {"hash": "0x2"}}
    result, minority = tally(
        answers, policy="2/3+1", key=block_hash, benched_after=lambda _: False, what="block 3"
    )
    assert minority == ("c",)
    assert (result.value, result.agree, result.of, result.asked) == ({"hash": "0x1"}, 2, 2, 3)
    assert result.said == {"a": "0x1", "b": "0x1", "c": "0x2"}


def test_tally_without_a_majority_says_who_said_what() -> None:
    answers = {"a": {"hash": "0x1"}, "b": {"hash": "0x2"}, "c": RpcUnavailableError("c timed out")}
    with pytest.raises(QuorumError) as caught:
        tally(answers, policy="majority", key=block_hash, benched_after=lambda _: False, what="x")
    assert str(caught.value) == (
        "no majority quorum for x: 1 of 3 healthy providers agree (need 2); "
        "a: 0x1; b: 0x2; c: error: c timed out"
    )


def test_health_score_prefers_fast_weighted_error_free_current_providers() -> None:
    fast, slow, heavy, failing, lagging = (ProviderHealth() for _ in range(5))
    fast.success(0.010)
    slow.success(0.100)
    heavy.weight = 6  # 6 x 1000 / 110 ms beats 1 x 1000 / 20 ms
    heavy.success(0.100)
    failing.success(0.010)
    failing.failure("timeout", "t")
    lagging.success(0.010)
    lagging.lag = 3
    assert heavy.score() > fast.score() > slow.score()
    assert failing.score() == pytest.approx(fast.score() / 2)
    assert lagging.score() == pytest.approx(fast.score() / 4)
    assert failing.errors == {"timeout": 1}
    assert (failing.requests, failing.consecutive_errors) == (2, 1)


def test_benching_grows_exponentially_up_to_the_cap() -> None:
    health = ProviderHealth()
    assert [health.bench("timeout", 1.0, 5.0) for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    health.unbench()
    assert (health.benched, health.benches) == (False, 0)


def test_backoff_is_capped_with_full_jitter() -> None:
    delays = [backoff_delay(attempt, 0.25, 2.0) for attempt in range(10) for _ in range(50)]
    assert all(0.0 <= d <= 2.0 for d in delays)
    assert max(delays) > 1.0  # the cap is reached, not just the base
    assert len({round(d, 6) for d in delays}) > 400  # jittered, not a fixed schedule


def test_token_bucket_spaces_requests_at_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=2)
    waits = [bucket.delay() for _ in range(4)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(0.1, abs=0.01)
    assert waits[3] == pytest.approx(0.2, abs=0.01)
    assert TokenBucket(rate=0, burst=1).delay() == 0.0


def test_invalidate_from_drops_by_number_entries_at_and_after_only() -> None:
    gateway = StateGateway(RpcClient("http://127.0.0.1:1"))
    account = "0x" + "11" * 20
    tx = "0x" + "ab" * 32
    gateway.remember("eth_getBlockByNumber", ["0x9", False], {"hash": "0x9"})
    gateway.remember("eth_getBlockByNumber", ["0xa", True], {"hash": "0xa"})
    gateway.remember("eth_getBalance", [account, "0x9"], "0x1")
    gateway.remember("eth_getStorageAt", [account, "0x0", "0xb"], "0x2")
    gateway.remember("eth_getBlockByHash", ["0x" + "cd" * 32, False], {"number": "0xa"})
    gateway.remember("eth_getTransactionReceipt", [tx], {"blockNumber": "0xa"})
    gateway.remember("eth_getTransactionByHash", ["0x" + "ef" * 32], {"blockNumber": "0x3"})
    gateway.remember("eth_chainId", [], "0x1")
    assert gateway.invalidate_from(10) == 3
    assert gateway.has("eth_getBlockByNumber", ["0x9", False])
    assert gateway.has("eth_getBalance", [account, "0x9"])
    assert not gateway.has("eth_getBlockByNumber", ["0xa", True])
    assert not gateway.has("eth_getStorageAt", [account, "0x0", "0xb"])
    assert not gateway.has("eth_getTransactionReceipt", [tx])
    assert gateway.has("eth_getBlockByHash", ["0x" + "cd" * 32, False])
    assert gateway.has("eth_getTransactionByHash", ["0x" + "ef" * 32])
    assert gateway.has("eth_chainId", [])


def test_reorg_event_shape() -> None:
    ancestor = BlockRef(4, "0x4", "0x3")
    event = ChainReorged(
        "ethereum", ancestor, (BlockRef(5, "0x5", "0x4"),), (BlockRef(5, "0x5b", "0x4"),)
    )
    assert event.as_event() == {
        "type": "chain_reorged",
        "chain": "ethereum",
        "depth": 1,
        "common_ancestor": {"number": 4, "hash": "0x4", "parent_hash": "0x3"},
        "old": [{"number": 5, "hash": "0x5", "parent_hash": "0x4"}],
        "new": [{"number": 5, "hash": "0x5b", "parent_hash": "0x4"}],
    }


async def test_a_pool_url_cannot_be_set_and_options_default_sensibly() -> None:
    async with ProviderPool("http://127.0.0.1:1,http://127.0.0.1:2") as pool:
        with pytest.raises(AttributeError):
            pool.url = "http://elsewhere"
        assert pool.options == PoolOptions()
        assert time.monotonic() - pool._heads_at < 5


async def test_chain_metrics_carry_labels_never_urls() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from timemachine.chain.metrics import ChainCollector, ProviderMeters, observe_reorg

    urls = "https://eth.example/v3/SECRET,https://other.example/SECRET#weight=2"
    async with ProviderPool(urls) as pool:
        provider = pool.providers[0]
        provider.meters.requests.inc(3)
        pool._fault(provider, RpcUnavailableError("https://eth.example timed out (ReadTimeout)"))
        assert provider.health.benched
    observe_reorg("ethereum", 2)
    assert isinstance(provider.meters, ProviderMeters)
    registry = CollectorRegistry()
    registry.register(ChainCollector())
    text = generate_latest(registry).decode()
    assert 'timemachine_rpc_requests_total{provider="https://eth.example"}' in text
    assert 'timemachine_rpc_errors_total{kind="timeout",provider="https://eth.example"}' in text
    assert 'timemachine_rpc_benched{provider="https://eth.example"} 1.0' in text
    assert 'timemachine_chain_reorg_depth_bucket{chain="ethereum",le="2.0"}' in text
    assert "SECRET" not in text
