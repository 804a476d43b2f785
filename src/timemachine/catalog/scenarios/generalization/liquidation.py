"""Benign `gen-flash-liquidation`: a fair liquidation funded by an ERC-3156 flash loan.

FeedLendingPool (the contract of `gen-open-feed-setter`) lets anyone repay an underwater
position's whole debt for its collateral. After the owner's feed halves bob's collateral limit,
erin's FlashLiquidator flash-borrows the debt in WETH from a FlashSavingsVault, unwraps it,
liquidates, sells the seized tokens in a Reservoir at the same price as the feed, repays the loan
(fee 0) and keeps the difference: a flash loan, a liquidation and a swap in one honest tx.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.generalization.kit import MAX, deploy_own, expect
from timemachine.catalog.scenarios.generalization.reservoir import amount_out, reservoir
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

LIQUIDATOR = "erin"
PRICE = 10**15
"""0.001 ETH per PLG before the drop; the feed then moves to the Reservoir's 0.0007 ETH."""
DROPPED = 7 * 10**14
MARKET_PLG = 142_857 * 10**18
"""The Reservoir's PLG against its 100 ETH: 0.0007 ETH per PLG."""
PLEDGED = 1_000 * 10**18
DEBT = 6 * ETHER // 10
SAVED = 5 * ETHER


async def stage(world: World) -> ScenarioRecord:
    chain, weth, a = world.chain, world.weth, actor_address
    token = await deploy_own(chain, "deployer", "GenToken", "Pledge", "PLG", name="PLG (benign)")
    feed = await deploy_own(chain, "deployer", "OwnedFeed", PRICE, name="OwnedFeed (benign)")
    await chain.mine()
    pool = await deploy_own(
        chain,
        "deployer",
        "FeedLendingPool",
        token.address,
        feed.address,
        name="FeedLendingPool (benign)",
    )
    vault = await deploy_own(
        chain, "deployer", "FlashSavingsVault", weth.address, name="FlashSavingsVault (benign)"
    )
    liquidator = await deploy_own(chain, LIQUIDATOR, "FlashLiquidator", weth.address)
    await token.send("deployer", "mint", a("bob"), PLEDGED)
    await weth.send("frank", "deposit", value=SAVED)
    await chain.mine()
    market = await reservoir(world, token, "Reservoir PLG", MARKET_PLG)
    await pool.fund("supply", {"alice": 10})
    await weth.send("frank", "approve", vault.address, MAX)
    await vault.send("frank", "deposit", SAVED)
    await token.send("bob", "approve", pool.address, MAX)
    await pool.send("bob", "depositCollateral", PLEDGED)
    await pool.send("deployer", "setLtv", 6_000)
    await chain.mine()
    await pool.send("bob", "borrow", DEBT)
    await chain.mine()
    await feed.send("deployer", "setPrice", DROPPED)
    await chain.mine()
    if await pool.call("limitOf", a("bob")) >= DEBT:
        raise DevnetBuildError("bob's position should be underwater after the price drop")

    before = await chain.balance(a(LIQUIDATOR))
    tx = await liquidator.send(
        LIQUIDATOR,
        "liquidate",
        vault.address,
        pool.address,
        a("bob"),
        market.address,
        gas=600_000,
    )
    block = await chain.mine()
    sold = amount_out(PLEDGED, MARKET_PLG, 100 * ETHER)
    expect(
        "liquidator's gain",
        await chain.balance(a(LIQUIDATOR)) - before,
        sold - DEBT - block.fee(tx),
    )
    expect("bob's debt", await pool.call("debt", a("bob")), 0)
    expect("the flash lender kept", await weth.call("balanceOf", vault.address), SAVED)
    return FLASH_LIQUIDATION.honest(tx, block, LIQUIDATOR)


FLASH_LIQUIDATION = declared("gen-flash-liquidation", stage)
