"""Balance changes (state diff + transfers) and token metadata over a real RpcClient + mock node."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from eth_abi.abi import decode, encode

from timemachine.chain.rpc import RpcClient
from timemachine.errors import RpcUnavailableError
from timemachine.models import AccountState, BalanceChange, StateDiff, TokenTransfer
from timemachine.trace.balances import balance_changes, enrich_token_metadata

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


BALANCES = {(USDC, EOA): 7_000_000, (USDC, POOL): 1_000_000, (MKR, ZERO): 0, (MKR, POOL): 17}


def answer(call: dict[str, Any]) -> dict[str, Any]:
    """A tiny node: USDC (string symbol), MKR (bytes32 symbol), NFT (reverts on metadata)."""
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
        for (token, owner), balance in BALANCES.items():
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


async def test_metadata_one_batch_when_every_call_succeeds() -> None:
    node = Node()
    changes = [
        BalanceChange(address=EOA, asset=USDC, delta=2_000_000),
        BalanceChange(address=POOL, asset=MKR, delta=7),
    ]
    transfers = [transfer("ERC20", USDC, POOL, EOA, 2_000_000)]
    async with client(node) as rpc:
        new_transfers, new_changes = await enrich_token_metadata(changes, transfers, rpc, "0x10")
    assert len(node.http_requests) == 1
    assert [len(batch) for batch in node.http_requests] == [6]
    assert all(call["params"][1] == "0x10" for call in node.http_requests[0])
    assert [(t.symbol, t.decimals) for t in new_transfers] == [("USDC", 6)]
    assert [(c.asset, c.symbol, c.decimals, c.before, c.after, c.delta) for c in new_changes] == [
        (USDC, "USDC", 6, 5_000_000, 7_000_000, 2_000_000),
        (MKR, "MKR", 18, 10, 17, 7),
    ]
    assert changes[0].symbol is None  # inputs untouched


async def test_metadata_tolerates_reverting_tokens() -> None:
    node = Node()
    changes = [
        BalanceChange(address=EOA, asset=NFT, delta=1),
        BalanceChange(address=EOA, asset=USDC, delta=2_000_000),
        BalanceChange(address=EOA, asset="ETH", symbol="ETH", decimals=18, delta=-5),
    ]
    transfers = [
        transfer("ERC721", NFT, POOL, EOA, 1),
        transfer("ETH", None, EOA, POOL, 5),
    ]
    async with client(node) as rpc:
        new_transfers, new_changes = await enrich_token_metadata(changes, transfers, rpc, "latest")
    # One batch (fails on the NFT's revert), then the 6 calls one by one.
    assert [type(payload).__name__ for payload in node.http_requests] == ["list"] + ["dict"] * 6
    assert [(t.symbol, t.decimals) for t in new_transfers] == [(None, None), (None, None)]
    assert [(c.asset, c.symbol, c.decimals, c.before, c.after) for c in new_changes] == [
        ("ETH", "ETH", 18, None, None),
        (USDC, "USDC", 6, 5_000_000, 7_000_000),
        (NFT, None, None, None, None),
    ]


async def test_metadata_without_final_balances_reads_no_balances() -> None:
    node = Node()
    changes = [BalanceChange(address=EOA, asset=USDC, delta=2_000_000)]
    async with client(node) as rpc:
        _, new_changes = await enrich_token_metadata(changes, [], rpc, "0x10", balances_final=False)
    assert [len(batch) for batch in node.http_requests] == [2]
    assert [(c.symbol, c.decimals, c.before, c.after) for c in new_changes] == [
        ("USDC", 6, None, None)
    ]


async def test_metadata_with_nothing_to_read_sends_nothing() -> None:
    node = Node()
    async with client(node) as rpc:
        assert await enrich_token_metadata([], [], rpc, "latest") == ([], [])
    assert node.http_requests == []


async def test_node_failures_are_not_swallowed() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    changes = [BalanceChange(address=EOA, asset=USDC, delta=1)]
    rpc = RpcClient("http://node.test", retries=0, transport=httpx.MockTransport(down))
    async with rpc:
        with pytest.raises(RpcUnavailableError):
            await enrich_token_metadata(changes, [], rpc, "latest")
