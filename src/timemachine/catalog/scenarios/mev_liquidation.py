"""Benign-class MEV scenario `mev-liquidation`: an Aave V2-style liquidation after an oracle
price update.

A ReserveLendingPool (Aave's liquidationCall ABI and events) lists WETH (82.5% liquidation
threshold, 5% bonus) and USDX. Grace deposits 10 WETH and borrows 24,000 USDX at $3,000 per
WETH; the oracle then posts $2,800, which puts her health factor below one, and erin repays half
her debt (the close factor), receiving WETH worth the repayment plus the 5% bonus. Ground truth:
erin's USDX and WETH balance changes over the liquidation block.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.markets import USD, markets
from timemachine.catalog.scenarios.mev_truth import lower
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

LIQUIDATOR = "erin"
BORROWER = "grace"
PRICE = 10**8
"""One dollar in the oracle's 8-decimal units."""
POOL_USDX = 100_000 * USD
COLLATERAL = 10 * ETHER
BORROWED = 24_000 * USD
REPAID = BORROWED // 2
BONUS_BPS = 10_500
LIQUIDATE_GAS = 500_000


async def stage(world: World) -> ScenarioRecord:
    """List the reserves, deposit and borrow, drop the oracle price, then liquidate."""
    chain, weth, a = world.chain, world.weth, actor_address
    usdx = (await markets(world)).usdx
    oracle = await deploy(chain, "deployer", "PriceOracle")
    pool = await deploy(chain, "deployer", "ReserveLendingPool", oracle.address)
    await chain.mine()

    await oracle.send("deployer", "setAssetPrice", weth.address, 3_000 * PRICE)
    await oracle.send("deployer", "setAssetPrice", usdx.address, PRICE)
    await pool.send("deployer", "initReserve", weth.address, 8_000, 8_250, BONUS_BPS)
    await pool.send("deployer", "initReserve", usdx.address, 8_000, 8_500, BONUS_BPS)
    await usdx.send("deployer", "mint", a("deployer"), POOL_USDX)
    await usdx.send("deployer", "approve", pool.address, 2**256 - 1)
    await pool.send("deployer", "deposit", usdx.address, POOL_USDX, a("deployer"), 0)
    await weth.send(BORROWER, "deposit", value=COLLATERAL)
    await weth.send(BORROWER, "approve", pool.address, 2**256 - 1)
    await pool.send(BORROWER, "deposit", weth.address, COLLATERAL, a(BORROWER), 0)
    await usdx.send("deployer", "mint", a(LIQUIDATOR), REPAID)
    await usdx.send(LIQUIDATOR, "approve", pool.address, 2**256 - 1)
    await chain.mine()

    await pool.send(BORROWER, "borrow", usdx.address, BORROWED, 2, 0, a(BORROWER))
    await chain.mine()
    await oracle.send("deployer", "setAssetPrice", weth.address, 2_800 * PRICE)
    await chain.mine()
    if await pool.call("healthFactor", a(BORROWER)) >= 10**18:
        raise DevnetBuildError(f"{BORROWER}'s position is not liquidatable")

    usdx_before = await chain.token_balance(usdx.address, a(LIQUIDATOR))
    weth_before = await chain.token_balance(weth.address, a(LIQUIDATOR))
    tx = await pool.send(
        LIQUIDATOR,
        "liquidationCall",
        weth.address,
        usdx.address,
        a(BORROWER),
        REPAID,
        False,
        gas=LIQUIDATE_GAS,
    )
    block = await chain.mine()
    repaid = usdx_before - await chain.token_balance(usdx.address, a(LIQUIDATOR))
    received = await chain.token_balance(weth.address, a(LIQUIDATOR)) - weth_before
    seized = REPAID * PRICE * ETHER * BONUS_BPS // (2_800 * PRICE * USD * 10_000)
    if (repaid, received) != (REPAID, seized):
        raise DevnetBuildError(f"liquidation {tx}: repaid {repaid}, received {received}")
    truth = {
        "liquidations": [
            {
                "transaction_hash": tx,
                "liquidated_user": a(BORROWER),
                "liquidator_user": a(LIQUIDATOR),
                "debt_token_address": usdx.address,
                "debt_purchase_amount": repaid,
                "received_token_address": weth.address,
                "received_amount": received,
                "protocol": "aave",
                "error": None,
            }
        ]
    }
    return SCENARIO.record(
        exploit_tx=tx,
        block_number=block.number,
        attacker=a(LIQUIDATOR),
        victims=[pool.address],
        expected_mev=lower(truth),
    )


SCENARIO = declared("mev-liquidation", stage)
