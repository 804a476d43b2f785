"""Pre-tx token prices from V2-style pairs found through the trace, over a fake caller."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_abi.abi import decode, encode

from tests.unit.analysis_trees import EOA, call
from timemachine.errors import RpcError
from timemachine.hexutil import checksum
from timemachine.trace.prices import FACTORY, GET_PAIR, GET_RESERVES, TOKEN0, TOKEN1, token_prices

WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
DEMO = checksum("0x00000000000000000000000000000000000000d0")
USDX = checksum("0x00000000000000000000000000000000000000d1")
JUNK = checksum("0x00000000000000000000000000000000000000d2")
ROUTER = checksum("0x00000000000000000000000000000000000000e1")
DEMO_WETH = checksum("0x00000000000000000000000000000000000000f0")
USDX_WETH = checksum("0x00000000000000000000000000000000000000f1")
DEMO_WETH_SMALL = checksum("0x00000000000000000000000000000000000000f2")
FACTORY_ADDRESS = checksum("0x00000000000000000000000000000000000000fa")
OVERRIDES = {DEMO_WETH: {"stateDiff": {"0x08": "0x01"}}}


def word(value: object, kind: str = "address") -> str:
    return "0x" + encode([kind], [value]).hex()


class Pairs:
    """A fake node with three pairs; getReserves answers the pre-tx reserves under overrides."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[str, str, bool]]] = []
        self.pairs = {
            DEMO_WETH.lower(): (DEMO, WETH, (200_000, 100), (150_000, 130)),
            DEMO_WETH_SMALL.lower(): (WETH, DEMO, (1, 3), (1, 3)),
            USDX_WETH.lower(): (WETH, USDX, (50, 150_000), (50, 150_000)),
        }

    def answer(self, to: str, data: str, overridden: bool) -> str:
        pair = self.pairs.get(to.lower())
        if pair is not None:
            token0, token1, before, after = pair
            reserves = before if overridden else after
            if data == TOKEN0:
                return word(token0)
            if data == TOKEN1:
                return word(token1)
            if data == GET_RESERVES:
                return "0x" + encode(["uint112", "uint112", "uint32"], [*reserves, 7]).hex()
            if data == FACTORY and to.lower() != DEMO_WETH_SMALL.lower():
                return word(FACTORY_ADDRESS)
        if to.lower() == FACTORY_ADDRESS.lower() and data.startswith(GET_PAIR):
            token, other = decode(["address", "address"], bytes.fromhex(data[10:]))
            assert other.lower() == WETH.lower()
            return word(USDX_WETH if token.lower() == USDX.lower() else "0x" + "00" * 20)
        raise RpcError("execution reverted")

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        raise AssertionError("prices are read in batches")

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        raise AssertionError("prices are read with batch_settled")

    async def batch_settled(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        self.batches.append([(p[0]["to"], p[0]["data"], len(p) > 2) for _, p in calls])
        results: list[Any] = []
        for method, params in calls:
            assert (method, params[1]) == ("eth_call", "0x10")
            if len(params) > 2:
                assert params[2] == OVERRIDES
            try:
                results.append(self.answer(params[0]["to"], params[0]["data"], len(params) > 2))
            except RpcError as error:
                results.append(error)
        return results


def swap_trace() -> Any:
    """EOA -> router -> DEMO/WETH pair and the small DEMO pair (WETH is token0 there)."""
    return call(
        EOA,
        ROUTER,
        "0x38ed1739",
        calls=[call(ROUTER, DEMO_WETH, "0x022c0d9f"), call(ROUTER, DEMO_WETH_SMALL, "0x022c0d9f")],
    )


async def test_pairs_in_the_trace_price_at_pre_tx_reserves_in_one_round_trip() -> None:
    node = Pairs()
    [price] = await token_prices(node, swap_trace(), [DEMO, WETH], WETH, "0x10", OVERRIDES)
    # The deeper of the two DEMO pairs, at its reserves before the tx (not 150,000 / 130).
    assert (price.token, price.pair, price.found) == (DEMO, DEMO_WETH, "trace")
    assert (price.reserve_token, price.reserve_native) == (200_000, 100)
    assert price.wrapped_native == WETH
    [batch] = node.batches
    # token0, token1, getReserves (rewound), factory of the 3 contracts the trace reaches.
    assert len(batch) == 12
    assert [overridden for _, data, overridden in batch if data == GET_RESERVES] == [True] * 3
    assert not any(overridden for _, data, overridden in batch if data != GET_RESERVES)


async def test_tokens_without_a_touched_pair_are_looked_up_on_the_factories() -> None:
    node = Pairs()
    prices = await token_prices(node, swap_trace(), [USDX, DEMO, JUNK], WETH, "0x10", OVERRIDES)
    assert [(p.token, p.pair, p.found, p.reserve_token, p.reserve_native) for p in prices] == [
        (DEMO, DEMO_WETH, "trace", 200_000, 100),
        (USDX, USDX_WETH, "factory", 150_000, 50),
    ]  # JUNK: the factory has no pair for it, so it stays unpriced
    assert [len(batch) for batch in node.batches] == [12, 2, 3]


async def test_a_known_factory_prices_tokens_when_the_trace_touched_no_pair() -> None:
    node = Pairs()
    no_pairs = call(EOA, ROUTER, "0x12345678")
    prices = await token_prices(
        node, no_pairs, [USDX], WETH, "0x10", OVERRIDES, known_factories=[FACTORY_ADDRESS]
    )
    assert [(p.token, p.pair, p.found) for p in prices] == [(USDX, USDX_WETH, "factory")]
    assert await token_prices(node, no_pairs, [USDX], WETH, "0x10", OVERRIDES) == []


async def test_nothing_is_read_without_a_wrapped_native_token_or_tokens() -> None:
    node = Pairs()
    assert await token_prices(node, swap_trace(), [DEMO], None, "0x10", OVERRIDES) == []
    assert await token_prices(node, swap_trace(), [WETH], WETH, "0x10", OVERRIDES) == []
    assert node.batches == []


def test_devnet_wrapped_native_is_the_deployers_second_contract() -> None:
    from timemachine.catalog.builder import create_address
    from timemachine.catalog.devnet import actor_address
    from timemachine.chain.registry import DEVNET_CHAIN_ID, get_chain

    expected = create_address(actor_address("deployer"), 1)  # after DemoToken (nonce 0)
    assert get_chain(DEVNET_CHAIN_ID).wrapped_native == expected
    assert get_chain(1).wrapped_native == WETH
