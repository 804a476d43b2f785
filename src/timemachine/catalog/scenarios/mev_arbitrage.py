"""Benign-class MEV scenario `mev-cyclic-arbitrage`: WETH → DEMO → USDX → WETH through three
Uniswap V2-style pairs, one of them (a new DEMO/USDX pair) mispriced.

By the time it opens, the earlier scenarios' trades leave the shared pairs pricing DEMO at about
0.85 USDX; the new pair opens at 1.2 USDX. Frank quotes a few
sizes, routes the most profitable one around the cycle in one router call (minimum output: more
WETH than he put in) and keeps the difference. Ground truth: frank's WETH balance change, equal
to the router's quote.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract
from timemachine.catalog.scenarios.markets import USD, add_liquidity, markets, swap
from timemachine.catalog.scenarios.mev_truth import lower
from timemachine.catalog.scenarios.world import DEMO, World
from timemachine.errors import DevnetBuildError

SEARCHER = "frank"
POOL_DEMO = 100_000 * DEMO
POOL_USDX = 120_000 * USD
SIZES = tuple(size * ETHER // 2 for size in (1, 2, 4, 6, 8, 12, 16))
"""WETH amounts frank quotes before picking the most profitable."""


async def stage(world: World) -> ScenarioRecord:
    """Open the mispriced DEMO/USDX pair, then arbitrage the cycle; verify frank's profit."""
    chain, weth, token, a = world.chain, world.weth, world.token, actor_address
    market = await markets(world)
    router, usdx = market.router, market.usdx
    await token.send("deployer", "mint", a("deployer"), POOL_DEMO)
    await usdx.send("deployer", "mint", a("deployer"), POOL_USDX)
    await add_liquidity(router, "deployer", (token.address, usdx.address), (POOL_DEMO, POOL_USDX))
    await weth.send(SEARCHER, "deposit", value=max(SIZES))
    await weth.send(SEARCHER, "approve", router.address, 2**256 - 1)
    await chain.mine()
    demo_usdx = Contract.at(
        chain,
        await market.factory.call("getPair", token.address, usdx.address),
        "SwapPair",
        "SwapPair DEMO/USDX",
    )

    path = [weth.address, token.address, usdx.address, weth.address]
    quotes = {size: await router.call("getAmountsOut", size, path) for size in SIZES}
    size = max(SIZES, key=lambda candidate: quotes[candidate][-1] - candidate)
    amounts = quotes[size]
    if amounts[-1] <= size:
        raise DevnetBuildError(f"cyclic arbitrage: no profitable size ({quotes})")
    before = await chain.token_balance(weth.address, a(SEARCHER))
    tx = await swap(router, SEARCHER, size, path, min_out=size + 1)
    block = await chain.mine()
    profit = await chain.token_balance(weth.address, a(SEARCHER)) - before
    if profit != amounts[-1] - size:
        raise DevnetBuildError(f"cyclic arbitrage {tx}: {SEARCHER} made {profit} WETH units")
    pools = [market.demo_weth.address, demo_usdx.address, market.weth_usdx.address]
    truth = {
        "arbitrages": [
            {
                "transaction_hash": tx,
                "account_address": a(SEARCHER),
                "profit_token_address": weth.address,
                "start_amount": size,
                "end_amount": amounts[-1],
                "profit_amount": profit,
                "error": None,
                "swaps": [
                    {"contract_address": pool, "token_in_amount": amount_in}
                    for pool, amount_in in zip(pools, amounts[:-1], strict=True)
                ],
            }
        ]
    }
    return SCENARIO.record(
        exploit_tx=tx,
        block_number=block.number,
        attacker=a(SEARCHER),
        expected_mev=lower(truth),
    )


SCENARIO = declared("mev-cyclic-arbitrage", stage)
