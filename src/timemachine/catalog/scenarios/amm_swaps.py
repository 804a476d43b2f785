"""Benign control `amm-swaps`: ordinary users trade on the AMM pairs through the router.

Looks like the price-manipulation exploits (large swaps through the WETH/USDX and DEMO/WETH pairs,
several pools in one tx) but nobody reads the moved price to take value from a third contract.
The representative tx is carol's two-hop swap of 4,000 DEMO for USDX via WETH.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.markets import USD, markets, swap
from timemachine.catalog.scenarios.world import DEMO, World
from timemachine.errors import DevnetBuildError

SENDER = "carol"
SOLD = 4_000 * DEMO


async def stage(world: World) -> ScenarioRecord:
    """Three users approve the router and swap; verify the two-hop swap paid the quoted USDX."""
    chain, weth, token, a = world.chain, world.weth, world.token, actor_address
    market = await markets(world)
    router, usdx = market.router, market.usdx
    await weth.send("alice", "deposit", value=5 * ETHER)
    for user, asset in (("alice", weth), ("bob", usdx), (SENDER, token)):
        await asset.send(user, "approve", router.address, 2**256 - 1)
    await chain.mine()

    path = [token.address, weth.address, usdx.address]
    quoted = (await router.call("getAmountsOut", SOLD, path))[-1]
    await swap(router, "alice", 2 * ETHER, [weth.address, usdx.address])
    await swap(router, "bob", 9_000 * USD, [usdx.address, weth.address])
    before = await usdx.call("balanceOf", a(SENDER))
    tx = await swap(router, SENDER, SOLD, path, min_out=quoted * 99 // 100)
    block = await chain.mine()
    received = await usdx.call("balanceOf", a(SENDER)) - before
    if not quoted * 99 // 100 <= received:
        raise DevnetBuildError(f"swap control {tx}: {SENDER} received {received} USDX base units")
    return SCENARIO.honest(tx, block, SENDER)


SCENARIO = declared("amm-swaps", stage)
