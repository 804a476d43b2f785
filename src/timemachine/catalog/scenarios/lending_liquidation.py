"""Benign control `lending-liquidation`: a real price move, then an honest liquidation.

Looks like the oracle-manipulation exploit (a lending market reads the WETH/USDX pair's spot
reserves and pays a third party collateral worth more than it repaid) but the price moved in an
earlier block, by an ordinary trade, and nothing in the liquidation tx touches the pair. A fresh
SpotLendingMarket: bob supplies 20,000 USDX, grace borrows 95% of her limit against 8 WETH, heidi
sells 10 WETH into the pair (WETH falls about 17%), and carol liquidates 40% of grace's debt,
seizing WETH worth the repayment plus the 8% bonus. The representative tx is the liquidation.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.markets import USD, markets, swap
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

LIQUIDATOR = "carol"
BORROWER = "grace"
SUPPLIER = "bob"
SUPPLIED = 20_000 * USD
COLLATERAL = 8 * ETHER
SOLD = 10 * ETHER
"""WETH heidi sells into the WETH/USDX pair: the market move that sinks grace's position."""
LIQUIDATE_GAS = 400_000
BONUS_BPS = 10_800


async def stage(world: World) -> ScenarioRecord:
    """Supply, borrow near the limit, move the price in its own block, then liquidate."""
    chain, weth, a = world.chain, world.weth, actor_address
    market_contracts = await markets(world)
    usdx, pair, router = market_contracts.usdx, market_contracts.weth_usdx, market_contracts.router
    market = await deploy(
        chain,
        "deployer",
        "SpotLendingMarket",
        usdx.address,
        weth.address,
        pair.address,
        name="SpotLendingMarket (liquidation)",
    )
    await weth.send(BORROWER, "deposit", value=COLLATERAL)
    await weth.send("heidi", "deposit", value=SOLD)
    await chain.mine()

    await usdx.send(SUPPLIER, "approve", market.address, 2**256 - 1)
    await market.send(SUPPLIER, "mint", SUPPLIED)
    await weth.send(BORROWER, "approve", market.address, 2**256 - 1)
    await market.send(BORROWER, "depositCollateral", COLLATERAL)
    await weth.send("heidi", "approve", router.address, 2**256 - 1)
    await usdx.send(LIQUIDATOR, "approve", market.address, 2**256 - 1)
    await chain.mine()

    borrowed = await market.call("borrowLimit", a(BORROWER)) * 95 // 100
    await market.send(BORROWER, "borrow", borrowed)
    await chain.mine()

    path = [weth.address, usdx.address]
    await swap(router, "heidi", SOLD, path)
    await chain.mine()

    repaid = borrowed * 40 // 100
    price = await market.call("collateralPrice")
    seized = repaid * BONUS_BPS * ETHER // (10_000 * price)
    before = await weth.call("balanceOf", a(LIQUIDATOR))
    tx = await market.send(LIQUIDATOR, "liquidate", a(BORROWER), repaid, gas=LIQUIDATE_GAS)
    block = await chain.mine()
    received = await weth.call("balanceOf", a(LIQUIDATOR)) - before
    if received != seized:
        raise DevnetBuildError(f"liquidation {tx}: {LIQUIDATOR} seized {received}, not {seized}")
    return SCENARIO.honest(tx, block, LIQUIDATOR)


SCENARIO = declared("lending-liquidation", stage)
