"""Benign control `flash-loan-arbitrage`: a bot closes a price gap between two WETH/USDX pools
with an ERC-3156 flash loan.

Looks like the flash-loan-funded exploits (borrow, swap through two pools, repay, walk away with
a profit in one tx) but the only counterparties are the pools' traders at their quoted prices and
the lender, which is repaid with its fee. A second PairFactory/SwapRouter deployment lists a
second WETH/USDX pool at 3,000 USDX per WETH; dave sells 15 WETH into it, pushing its price far
below the shared pool's. Heidi's ArbitrageBot then flash-borrows USDX from the shared FlashLender,
buys WETH in the cheap pool, sells it in the dear one, repays the loan plus the 0.09% fee and
sends the rest to heidi. The representative tx is the arbitrage.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.markets import (
    USD,
    add_liquidity,
    markets,
    swap,
)
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

OWNER = "heidi"
POOL_WETH = 60 * ETHER
POOL_USDX = 180_000 * USD
DUMPED = 15 * ETHER
"""WETH dave sells into the second pool."""
SIZES = tuple(size * 1_000 * USD for size in (5, 10, 15, 20, 25, 30, 40))
"""Loan sizes the bot's owner quotes before picking the most profitable."""
ARBITRAGE_GAS = 700_000


async def stage(world: World) -> ScenarioRecord:
    """Open a second pool, let dave move its price, then arbitrage; verify heidi's profit."""
    chain, weth, a = world.chain, world.weth, actor_address
    market = await markets(world)
    usdx, lender, dear = market.usdx, market.lender, market.router
    factory = await deploy(chain, "deployer", "PairFactory", name="PairFactory 2")
    cheap = await deploy(chain, "deployer", "SwapRouter", factory.address, name="SwapRouter 2")
    bot = await deploy(chain, OWNER, "ArbitrageBot")
    await chain.mine()

    await weth.send("deployer", "deposit", value=POOL_WETH)
    for asset in (weth, usdx):
        await asset.send("deployer", "approve", cheap.address, 2**256 - 1)
    await add_liquidity(cheap, "deployer", (weth.address, usdx.address), (POOL_WETH, POOL_USDX))
    await weth.send("dave", "deposit", value=DUMPED)
    await weth.send("dave", "approve", cheap.address, 2**256 - 1)
    await chain.mine()
    pair = await factory.call("getPair", weth.address, usdx.address)
    chain.label(pair, "SwapPair WETH/USDX 2")
    await swap(cheap, "dave", DUMPED, [weth.address, usdx.address])
    await chain.mine()

    quotes: dict[int, int] = {}
    for size in SIZES:
        bought = (await cheap.call("getAmountsOut", size, [usdx.address, weth.address]))[-1]
        sold = (await dear.call("getAmountsOut", bought, [weth.address, usdx.address]))[-1]
        quotes[size] = sold - size - await lender.call("flashFee", usdx.address, size)
    size = max(SIZES, key=lambda candidate: quotes[candidate])
    if quotes[size] <= 0:
        raise DevnetBuildError(f"flash-loan arbitrage: no profitable size ({quotes})")
    before = await usdx.call("balanceOf", a(OWNER))
    tx = await bot.send(
        OWNER,
        "arbitrage",
        lender.address,
        usdx.address,
        size,
        cheap.address,
        dear.address,
        weth.address,
        quotes[size],
        gas=ARBITRAGE_GAS,
    )
    block = await chain.mine()
    profit = await usdx.call("balanceOf", a(OWNER)) - before
    if profit != quotes[size]:
        raise DevnetBuildError(f"flash-loan arbitrage {tx}: heidi gained {profit} USDX base units")
    return SCENARIO.honest(tx, block, OWNER)


SCENARIO = declared("flash-loan-arbitrage", stage)
