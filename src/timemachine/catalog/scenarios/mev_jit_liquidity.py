"""Benign-class MEV scenario `mev-jit-liquidity`: just-in-time liquidity in a Uniswap V3-style
DEMO/WETH pool.

A ConcentratedPool (Uniswap V3's mint/burn/collect/swap ABI, callbacks and events, 0.3% fee)
holds a passive position over ±6,000 ticks. In one block heidi's LiquidityProvider bot mints a
position one tick spacing wide around the current price, about twenty times deeper than the
passive one; alice sells 2 WETH for DEMO through the ConcentratedRouter; and the bot burns its
position and collects it with most of alice's fee. Ground truth: the pool's Mint, Burn and Swap
events (read from the receipts, not the traces).
"""

from __future__ import annotations

import math

from timemachine.catalog.builder import ETHER, MinedBlock
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract, deploy
from timemachine.catalog.scenarios.mev_truth import event_data, lower
from timemachine.catalog.scenarios.world import DEMO, World

SEARCHER = "heidi"
VICTIM = "alice"
FEE = 3_000
SPACING = 60
DEMO_PER_WETH = 2_000
PASSIVE_LIQUIDITY = 5 * 10**21
PASSIVE_WIDTH = 6_000
JIT_DEPTH = 20
VICTIM_SALE = 2 * ETHER
FUNDING = {"weth": 200 * ETHER, "demo": 400_000 * DEMO}
LIQUIDITY_GAS = 600_000
SWAP_GAS = 1_500_000
MINT = "Mint(address,address,int24,int24,uint128,uint256,uint256)"
BURN = "Burn(address,int24,int24,uint128,uint256,uint256)"
SWAP = "Swap(address,address,int256,int256,uint160,uint128,int24)"


def _initial_tick(token0: str, weth: str) -> int:
    """The tick of 2,000 DEMO per WETH (price = token1 per token0), half a spacing off the
    spacing grid so no position boundary sits exactly at the opening price."""
    price = DEMO_PER_WETH if token0 == weth else 1 / DEMO_PER_WETH
    tick = round(math.log(price) / math.log(1.0001))
    return tick // SPACING * SPACING + SPACING // 2


async def stage(world: World) -> ScenarioRecord:
    """Open the pool with a passive position, then mint, victim swap and burn in one block."""
    chain, weth, token, a = world.chain, world.weth, world.token, actor_address
    token0 = min(weth.address.lower(), token.address.lower())
    pool = await deploy(
        chain,
        "deployer",
        "ConcentratedPool",
        weth.address,
        token.address,
        FEE,
        SPACING,
        _initial_tick(token0, weth.address.lower()),
        name="ConcentratedPool DEMO/WETH",
    )
    router = await deploy(chain, "deployer", "ConcentratedRouter")
    passive = await deploy(chain, "deployer", "LiquidityProvider", name="LiquidityProvider (LP)")
    bot = await deploy(chain, SEARCHER, "LiquidityProvider", name="LiquidityProvider (JIT bot)")
    await chain.mine()

    for owner, provider in (("deployer", passive), (SEARCHER, bot)):
        await weth.send(owner, "deposit", value=FUNDING["weth"])
        await weth.send(owner, "transfer", provider.address, FUNDING["weth"])
        await token.send("deployer", "mint", provider.address, FUNDING["demo"])
    await weth.send(VICTIM, "deposit", value=VICTIM_SALE)
    await weth.send(VICTIM, "approve", router.address, 2**256 - 1)
    await chain.mine()
    tick = await pool.call("tick")
    centre = tick // SPACING * SPACING
    wide = (centre - PASSIVE_WIDTH, centre + PASSIVE_WIDTH)
    await passive.send(
        "deployer", "provide", pool.address, *wide, PASSIVE_LIQUIDITY, gas=LIQUIDITY_GAS
    )
    await chain.mine()

    narrow = (centre, centre + SPACING)
    jit = PASSIVE_LIQUIDITY * JIT_DEPTH
    zero_for_one = token0 == weth.address.lower()
    mint = await bot.send(SEARCHER, "provide", pool.address, *narrow, jit, gas=LIQUIDITY_GAS)
    swap = await router.send(
        VICTIM,
        "exactInputSingle",
        pool.address,
        zero_for_one,
        VICTIM_SALE,
        0,
        a(VICTIM),
        gas=SWAP_GAS,
    )
    burn = await bot.send(SEARCHER, "withdraw", pool.address, *narrow, jit, gas=LIQUIDITY_GAS)
    block = await chain.mine()
    return SCENARIO.record(
        exploit_tx=burn,
        block_number=block.number,
        attacker=a(SEARCHER),
        attacker_contracts=[bot.address],
        expected_mev=lower(_truth(block, pool, bot, token0, (mint, swap, burn))),
    )


def _truth(
    block: MinedBlock, pool: Contract, bot: Contract, token0: str, txs: tuple[str, str, str]
) -> dict[str, list[dict[str, object]]]:
    """The JIT position as the pool's own events record it."""
    mint, swap, burn = txs
    _, _, minted0, minted1 = event_data(
        block, mint, pool.address, MINT, ("address", "uint128", "uint256", "uint256")
    )
    _, burned0, burned1 = event_data(
        block, burn, pool.address, BURN, ("uint128", "uint256", "uint256")
    )
    amount0, amount1, *_ = event_data(
        block, swap, pool.address, SWAP, ("int256", "int256", "uint160", "uint128", "int24")
    )
    return {
        "jit_liquidity": [
            {
                "bot_address": bot.address,
                "pool_address": pool.address,
                "mint_transaction_hash": mint,
                "mint_trace": [0],
                "burn_transaction_hash": burn,
                "burn_trace": [0],
                "swaps": [{"transaction_hash": swap}],
                "token0_address": token0,
                "mint_token0_amount": minted0,
                "mint_token1_amount": minted1,
                "burn_token0_amount": burned0,
                "burn_token1_amount": burned1,
                "token0_swap_volume": abs(amount0),
                "token1_swap_volume": abs(amount1),
            }
        ]
    }


SCENARIO = declared("mev-jit-liquidity", stage)
