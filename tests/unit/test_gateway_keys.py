"""What the state gateway may cache: only answers that can never change."""

from __future__ import annotations

from typing import Any

import pytest

from timemachine.chain.gateway import SeedAccount, cache_key
from timemachine.replay.prefetch import merge_prestates

ADDRESS = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"


@pytest.mark.parametrize(
    ("method", "params", "key"),
    [
        ("eth_getBalance", [ADDRESS, "0x10"], ("eth_getBalance", ADDRESS.lower(), 16)),
        ("eth_getAccountInfo", [ADDRESS, "0x0"], ("eth_getAccountInfo", ADDRESS.lower(), 0)),
        (
            "eth_getStorageAt",
            [ADDRESS, "0x0000000000000000000000000000000000000000000000000000000000000001", "0x5"],
            ("eth_getStorageAt", ADDRESS.lower(), 1, 5),
        ),
        ("eth_getStorageAt", [ADDRESS, "0x1", "0x5"], ("eth_getStorageAt", ADDRESS.lower(), 1, 5)),
        (
            "eth_getCode",
            [ADDRESS, {"blockNumber": "0x7"}],
            ("eth_getCode", ADDRESS.lower(), 7),
        ),
        ("eth_getBlockByNumber", ["0x7", False], ("eth_getBlockByNumber", 7, False)),
        (
            "eth_getBlockByHash",
            ["0x" + "AB" * 32, True],
            ("eth_getBlockByHash", "0x" + "ab" * 32, True),
        ),
        ("eth_chainId", [], ("eth_chainId",)),
    ],
)
def test_pinned_answers_are_cacheable(
    method: str, params: list[object], key: tuple[object]
) -> None:
    assert cache_key(method, params) == key


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getBalance", [ADDRESS, "latest"]),
        ("eth_getBalance", [ADDRESS, "pending"]),
        ("eth_getStorageAt", [ADDRESS, "0x1", "safe"]),
        ("eth_getBlockByNumber", ["latest", False]),
        ("eth_blockNumber", []),
        ("eth_gasPrice", []),
        ("eth_call", [{"to": ADDRESS}, "0x5"]),
        ("eth_getBalance", []),  # malformed: never cached, forwarded for the upstream to judge
        ("eth_getStorageAt", [ADDRESS, "not hex", "0x5"]),
    ],
)
def test_moving_or_malformed_answers_are_not_cached(method: str, params: list[object]) -> None:
    assert cache_key(method, params) is None


def test_merge_prestates_keeps_the_first_listing_and_first_sighting_of_each_slot() -> None:
    contract = {"balance": "0x10", "code": "0x6000", "storage": {"0x1": "0xaa"}}
    traces: list[dict[str, Any]] = [
        {"result": {ADDRESS: contract}},
        {
            "result": {
                ADDRESS.lower(): {
                    "balance": "0x20",
                    "nonce": 3,
                    "code": "0x6000",
                    "storage": {"0x1": "0xbb", "0x2": "0xcc"},
                },
                "0x0000000000000000000000000000000000000001": {"balance": "0x1"},
            }
        },
        {"result": {ADDRESS: {"balance": "0x99", "storage": {"0x3": "0xdd"}}}},
    ]
    merged = merge_prestates(traces, 2)
    assert merged == {
        ADDRESS.lower(): SeedAccount(
            balance=0x10, nonce=None, code="0x6000", storage={"0x1": "0xaa", "0x2": "0xcc"}
        ),
        "0x0000000000000000000000000000000000000001": SeedAccount(
            balance=1, nonce=None, code="0x", storage={}
        ),
    }


def test_a_contract_created_in_the_block_is_seeded_as_it_was_before_its_creation() -> None:
    """Transaction 0 creates ADDRESS (listed as a bare balance); transaction 1 calls it (listed
    with its new code, nonce and storage). The start of the block had no contract there."""
    traces: list[dict[str, Any]] = [
        {"result": {ADDRESS: {"balance": "0x0"}}},
        {
            "result": {
                ADDRESS: {"balance": "0x0", "nonce": 1, "code": "0x6080", "storage": {"0x0": "0x1"}}
            }
        },
    ]
    assert merge_prestates(traces, 2) == {
        ADDRESS.lower(): SeedAccount(balance=0, nonce=None, code="0x", storage={})
    }
