"""Balance changes (state diff + balances read before/after) and token metadata, over a real
RpcClient and a mock node."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from eth_abi.abi import decode, encode

from timemachine.chain.rpc import RpcClient
from timemachine.errors import RpcUnavailableError
from timemachine.models import AccountState, StateDiff, TokenTransfer
from timemachine.trace.balances import (
    balance_changes,
    pre_state_overrides,
    token_balance_changes,
)

EOA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
POOL = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
COINBASE = "0x95222290DD7278Aa3Ddd389Cc1E1d165CC4BAfe5"
DEAD = "0x8464135c8F25Da09e49BC8782676a84730C318bC"
FRESH = "0x8398bCD4f633C72939F9043dB78c574A91C99c0A"
ZERO = "0x0000000000000000000000000000000000000000"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
MKR = "0x9f8F72aA9304c8B593d555F12eF6589cC3A579A2"
NFT = "0xBC4CA0EdA7647A8aB7C2061c2E118A18a936f13D"


def transfer(standard: str, token: str | None, sender: str, to: str, amount: int) -> TokenTransfer:
    return TokenTransfer.model_validate(
        {"standard": standard, "token": token, "from": sender, "to": to, "amount": amount}
    )


STATE_DIFF = StateDiff(
    pre={
        EOA: AccountState(balance=10 * 10**18, nonce=4),
        COINBASE: AccountState(balance=1_000),
        DEAD: AccountState(balance=77, code="0x60"),
        POOL: AccountState(balance=5, nonce=1),
        FRESH: AccountState(),
    },
    post={
        EOA: AccountState(balance=9 * 10**18 - 21_000, nonce=5),
        COINBASE: AccountState(balance=1_500),
        POOL: AccountState(nonce=2),  # nonce changed, balance did not
        FRESH: AccountState(balance=3, code="0x60"),
        # DEAD is absent from post: the account was deleted (self-destructed).
    },
)
TRANSFERS = [
    transfer("ETH", None, EOA, POOL, 10**18),  # ignored: ETH comes from the state diff
    transfer("ERC20", USDC, POOL, EOA, 2_500_000),
    transfer("ERC20", USDC, EOA, POOL, 500_000),
    transfer("WETH", MKR, ZERO, EOA, 7),  # a mint
    transfer("ERC20", MKR, EOA, POOL, 7),  # nets EOA's MKR to zero
    transfer("ERC721", NFT, POOL, EOA, 1),
]


def test_balance_changes_are_exact() -> None:
    changes = balance_changes(TRANSFERS, STATE_DIFF)
    rows = [(c.address, c.asset, c.before, c.after, c.delta) for c in changes]
    assert rows == [
        (ZERO, MKR, None, None, -7),
        (EOA, "ETH", 10 * 10**18, 9 * 10**18 - 21_000, -(10**18) - 21_000),
        (EOA, USDC, None, None, 2_000_000),
        (EOA, NFT, None, None, 1),
        (FRESH, "ETH", 0, 3, 3),
        (DEAD, "ETH", 77, 0, -77),
        (COINBASE, "ETH", 1_000, 1_500, 500),
        (POOL, MKR, None, None, 7),
        (POOL, USDC, None, None, -2_000_000),
        (POOL, NFT, None, None, -1),
    ]
    assert {(c.symbol, c.decimals) for c in changes if c.asset == "ETH"} == {("ETH", 18)}


# --- metadata over JSON-RPC ---------------------------------------------------------------------


def string_result(text: str) -> str:
    return "0x" + encode(["string"], [text]).hex()


def uint_result(value: int) -> str:
    return "0x" + encode(["uint256"], [value]).hex()


LIAR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
"""A token whose events lie: it logs what its balances never did."""
MINTER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"

# Balances right after the tx (plain eth_call) and right before it (eth_call with the overrides).
AFTER = {
    (USDC, EOA): 7_000_000,
    (USDC, POOL): 1_000_000,
    (MKR, ZERO): 0,
    (MKR, EOA): 3,
    (MKR, POOL): 17,
    (LIAR, MINTER): 0,
    (LIAR, EOA): 2**255,
}
BEFORE = {
    (USDC, EOA): 5_000_000,
    (USDC, POOL): 3_000_000,
    (MKR, ZERO): 0,
    (MKR, EOA): 0,
    (MKR, POOL): 10,
    (LIAR, MINTER): 0,
    (LIAR, EOA): 0,
}


def answer(call: dict[str, Any]) -> dict[str, Any]:
    """A tiny node: USDC (string symbol), MKR (bytes32 symbol), NFT (reverts on everything).

    balanceOf answers the state before the tx when the call carries state overrides.
    """
    to = call["params"][0]["to"].lower()
    data = call["params"][0]["data"]
    reply: dict[str, Any] = {"jsonrpc": "2.0", "id": call["id"]}
    revert = {"code": 3, "message": "execution reverted", "data": "0x"}
    if data == "0x95d89b41":  # symbol()
        symbols = {
            USDC.lower(): string_result("USDC"),
            MKR.lower(): "0x" + b"MKR".ljust(32, b"\0").hex(),
        }
        return reply | ({"result": symbols[to]} if to in symbols else {"error": revert})
    if data == "0x313ce567":  # decimals()
        decimals = {USDC.lower(): uint_result(6), MKR.lower(): uint_result(18)}
        return reply | ({"result": decimals[to]} if to in decimals else {"error": revert})
    if data.startswith("0x70a08231"):  # balanceOf(address)
        (holder,) = decode(["address"], bytes.fromhex(data[10:]))
        balances = BEFORE if len(call["params"]) == 3 else AFTER
        for (token, owner), balance in balances.items():
            if token.lower() == to and owner.lower() == holder:
                return reply | {"result": uint_result(balance)}
        return reply | {"error": revert}
    return reply | {"error": {"code": -32601, "message": "unexpected"}}


class Node:
    def __init__(self) -> None:
        self.http_requests: list[Any] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        self.http_requests.append(payload)
        if isinstance(payload, list):
            return httpx.Response(200, json=[answer(call) for call in payload])
        return httpx.Response(200, json=answer(payload))


def client(node: Node) -> RpcClient:
    return RpcClient("http://node.test", retries=0, transport=httpx.MockTransport(node.handle))


async def test_token_balances_are_read_before_and_after_in_one_round_trip() -> None:
    node = Node()
    transfers = [
        transfer("ERC20", USDC, POOL, EOA, 2_500_000),
        transfer("ERC20", USDC, EOA, POOL, 500_000),
        transfer("WETH", MKR, ZERO, EOA, 7),  # a mint
        transfer("ERC20", MKR, EOA, POOL, 7),  # nets EOA's MKR to zero: it really gained 3
        transfer("ERC721", NFT, POOL, EOA, 1),
    ]
    async with client(node) as rpc:
        new_transfers, changes = await token_balance_changes(transfers, STATE_DIFF, rpc, "0x10")
    [batch] = node.http_requests
    # symbol + decimals of 3 tokens, then balanceOf of 7 pairs after, then the same 7 before.
    assert len(batch) == 6 + 14
    assert all(call["params"][1] == "0x10" for call in batch)
    assert [len(call["params"]) for call in batch] == [2] * 13 + [3] * 7
    assert all(call["params"][2] == pre_state_overrides(STATE_DIFF) for call in batch[13:])
    rows = [
        (c.address, c.asset, c.symbol, c.decimals, c.before, c.after, c.delta, c.logged_delta)
        for c in changes
        if c.asset != "ETH"
    ]
    assert rows == [
        # MKR: EOA's logs net to 0 but its balance rose by 3 (the zero address is never flagged).
        (EOA, MKR, "MKR", 18, 0, 3, 3, 0),
        (EOA, USDC, "USDC", 6, 5_000_000, 7_000_000, 2_000_000, None),
        (EOA, NFT, None, None, None, None, 1, None),  # no balanceOf: the logged net stays
        (POOL, MKR, "MKR", 18, 10, 17, 7, None),
        # fee-on-transfer style: the pool's balance fell by more than its events say.
        (POOL, USDC, "USDC", 6, 3_000_000, 1_000_000, -2_000_000, None),
        (POOL, NFT, None, None, None, None, -1, None),
    ]
    assert [(t.symbol, t.decimals) for t in new_transfers] == [
        ("USDC", 6),
        ("USDC", 6),
        ("MKR", 18),
        ("MKR", 18),
        (None, None),
    ]
    assert [c for c in changes if c.asset == "ETH"] == [
        c for c in balance_changes([], STATE_DIFF) if c.asset == "ETH"
    ]


async def test_lying_transfer_events_do_not_become_balances() -> None:
    """BEC-style: the minter logs 2**255 out twice while holding nothing (its logged net is
    -2**256); the balances read say it neither had nor lost anything."""
    node = Node()
    transfers = [
        transfer("ERC20", LIAR, MINTER, EOA, 2**255),
        transfer("ERC20", LIAR, MINTER, POOL, 2**255),  # POOL's balance cannot be read
    ]
    async with client(node) as rpc:
        _, changes = await token_balance_changes(transfers, STATE_DIFF, rpc, "latest")
    tokens = [c for c in changes if c.asset != "ETH"]
    assert [(c.address, c.before, c.after, c.delta, c.logged_delta) for c in tokens] == [
        (EOA, 0, 2**255, 2**255, None),
        (MINTER, 0, 0, 0, -(2**256)),  # kept: no balance moved, but the events claim one did
        (POOL, None, None, 2**255, None),
    ]


async def test_unmoved_balances_with_agreeing_events_are_dropped() -> None:
    node = Node()
    transfers = [transfer("ERC20", MKR, ZERO, ZERO, 5)]  # nets to 0 and reads 0 -> 0
    async with client(node) as rpc:
        _, changes = await token_balance_changes(transfers, StateDiff(), rpc, "latest")
    assert changes == []


async def test_without_final_balances_only_metadata_is_read() -> None:
    node = Node()
    transfers = [transfer("ERC20", USDC, POOL, EOA, 2_000_000)]
    async with client(node) as rpc:
        _, changes = await token_balance_changes(
            transfers, StateDiff(), rpc, "0x10", balances_final=False
        )
    assert [len(batch) for batch in node.http_requests] == [2]
    assert [(c.address, c.symbol, c.before, c.after, c.delta) for c in changes] == [
        (EOA, "USDC", None, None, 2_000_000),
        (POOL, "USDC", None, None, -2_000_000),
    ]


async def test_nothing_to_read_sends_nothing() -> None:
    node = Node()
    async with client(node) as rpc:
        assert await token_balance_changes([], StateDiff(), rpc, "latest") == ([], [])
    assert node.http_requests == []


async def test_node_failures_are_not_swallowed() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rpc = RpcClient("http://node.test", retries=0, transport=httpx.MockTransport(down))
    async with rpc:
        with pytest.raises(RpcUnavailableError):
            await token_balance_changes(
                [transfer("ERC20", USDC, POOL, EOA, 1)], StateDiff(), rpc, "latest"
            )


def test_pre_state_overrides_rewind_every_change() -> None:
    slot = "0x" + "00" * 31 + "01"
    other = "0x" + "00" * 31 + "02"
    zero = "0x" + "00" * 32
    diff = StateDiff(
        pre={
            USDC: AccountState(balance=5, storage={slot: "0x" + "00" * 31 + "09"}, code="0x60"),
            DEAD: AccountState(balance=77, code="0x61"),
            POOL: AccountState(nonce=1),
        },
        post={
            USDC: AccountState(balance=6, storage={slot: "0x" + "00" * 31 + "0a", other: slot}),
            FRESH: AccountState(balance=3, code="0x62", storage={slot: slot}),
            POOL: AccountState(nonce=2),
        },
    )
    assert pre_state_overrides(diff) == {
        # a slot listed only in post was zero before
        USDC: {"stateDiff": {slot: "0x" + "00" * 31 + "09", other: zero}, "balance": "0x5"},
        DEAD: {"balance": "0x4d"},  # deleted: its balance comes back
        FRESH: {"stateDiff": {slot: zero}, "balance": "0x0"},  # created in the tx
    }
