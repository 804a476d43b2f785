"""Trusted proxies (X-Forwarded-For) and login delays, as pure functions and counters."""

from __future__ import annotations

import socket
import uuid

import pytest

from timemachine.security.lockout import DelayPolicy, LocalLoginDelays, RedisLoginDelays
from timemachine.security.proxies import TrustedProxies
from timemachine.settings import Settings


def test_no_trusted_proxy_means_the_peer() -> None:
    assert TrustedProxies.from_spec("").client("127.0.0.1", ["203.0.113.5"]) == "127.0.0.1"


def test_the_right_most_untrusted_hop_is_the_client() -> None:
    proxies = TrustedProxies.from_spec("10.0.0.0/8, 127.0.0.1")
    # the client claims 1.1.1.1; the edge proxy 10.0.0.2 saw 198.51.100.7
    chain = ["1.1.1.1, 198.51.100.7", "10.0.0.2"]
    assert proxies.client("127.0.0.1", chain) == "198.51.100.7"
    assert proxies.client("192.0.2.1", chain) == "192.0.2.1"  # an untrusted peer's header
    assert proxies.client("127.0.0.1", []) == "127.0.0.1"
    assert proxies.client("127.0.0.1", ["garbage, 10.0.0.3"]) == "10.0.0.3"
    assert proxies.client("127.0.0.1", ["[2001:db8::1]:443"]) == "2001:db8::1"
    assert TrustedProxies.from_spec("*").client("anything", ["203.0.113.9"]) == "203.0.113.9"


def test_bad_forwarded_allow_ips_fail_at_start() -> None:
    with pytest.raises(ValueError, match="not-an-ip"):
        Settings(forwarded_allow_ips="127.0.0.1,not-an-ip")


def test_delays_double_after_the_free_failures_up_to_the_cap() -> None:
    policy = DelayPolicy(free=2, base=1.0, cap=5.0)
    assert [policy.delay(n) for n in range(1, 7)] == [0.0, 0.0, 1.0, 2.0, 4.0, 5.0]


def test_local_delays_per_pair_and_reset_on_success() -> None:
    now = [100.0]
    delays = LocalLoginDelays(DelayPolicy(free=1, base=2.0, cap=60.0), clock=lambda: now[0])
    assert delays.failed("bob\x00203.0.113.9") == 0.0
    assert delays.failed("bob\x00203.0.113.9") == 2.0
    assert delays.wait("bob\x00203.0.113.9") == 2.0
    assert delays.wait("bob\x00198.51.100.7") == 0.0  # the owner's address
    now[0] += 2.0
    assert delays.wait("bob\x00203.0.113.9") == 0.0
    assert delays.failed("bob\x00203.0.113.9") == 4.0
    delays.succeeded("bob\x00203.0.113.9")
    assert delays.wait("bob\x00203.0.113.9") == 0.0


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_redis_delays_are_shared_between_instances() -> None:
    policy = DelayPolicy(free=1, base=10.0, cap=60.0)
    one = RedisLoginDelays("redis://127.0.0.1:6379/13", policy)
    two = RedisLoginDelays("redis://127.0.0.1:6379/13", policy)
    key = f"test:{uuid.uuid4()}"
    assert one.failed(key) == 0.0
    assert two.failed(key) == 10.0
    assert 9.0 < one.wait(key) <= 10.0
    two.succeeded(key)
    assert one.wait(key) == 0.0
