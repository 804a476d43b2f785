"""Benign-class MEV scenario `mev-sandwich`: a searcher sandwiches a swap in the WETH/USDX pair.

In one block: mallory sells WETH for USDX (front-run, pushing WETH down), erin sells 12 WETH at
the worse price within her 5% slippage limit (the victim), and mallory buys WETH back with
exactly the USDX she got (back-run). Mallory ends the block with more WETH than she started;
the representative tx is the back-run. Ground truth: mallory's WETH balance change over the
block, checked against the V2 pricing of the three swaps.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.markets import markets, swap
from timemachine.catalog.scenarios.mev_truth import lower, pair_reserves, v2_amount_out
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

SEARCHER = "mallory"
VICTIM = "erin"
FRONT_RUN = 2 * ETHER
VICTIM_SALE = 12 * ETHER
SLIPPAGE_BPS = 500


async def stage(world: World) -> ScenarioRecord:
    """Fund both traders, then front-run, victim and back-run in one block; verify the profit."""
    chain, weth, a = world.chain, world.weth, actor_address
    market = await markets(world)
    router, usdx, pair = market.router, market.usdx, market.weth_usdx
    for trader, amount in ((SEARCHER, FRONT_RUN), (VICTIM, VICTIM_SALE)):
        await weth.send(trader, "deposit", value=amount)
        await weth.send(trader, "approve", router.address, 2**256 - 1)
    await usdx.send(SEARCHER, "approve", router.address, 2**256 - 1)
    await chain.mine()

    weth_reserve, usdx_reserve = await pair_reserves(pair, weth.address)
    quoted = v2_amount_out(VICTIM_SALE, weth_reserve, usdx_reserve)
    bought = v2_amount_out(FRONT_RUN, weth_reserve, usdx_reserve)
    weth_reserve, usdx_reserve = weth_reserve + FRONT_RUN, usdx_reserve - bought
    victim_out = v2_amount_out(VICTIM_SALE, weth_reserve, usdx_reserve)
    weth_reserve, usdx_reserve = weth_reserve + VICTIM_SALE, usdx_reserve - victim_out
    returned = v2_amount_out(bought, usdx_reserve, weth_reserve)
    min_out = quoted * (10_000 - SLIPPAGE_BPS) // 10_000
    if victim_out < min_out or returned <= FRONT_RUN:
        raise DevnetBuildError(f"sandwich does not fit: victim {victim_out}, back-run {returned}")

    before = await chain.token_balance(weth.address, a(SEARCHER))
    to_usdx, to_weth = [weth.address, usdx.address], [usdx.address, weth.address]
    front = await swap(router, SEARCHER, FRONT_RUN, to_usdx)
    victim = await swap(router, VICTIM, VICTIM_SALE, to_usdx, min_out=min_out)
    back = await swap(router, SEARCHER, bought, to_weth, min_out=FRONT_RUN)
    block = await chain.mine()
    profit = await chain.token_balance(weth.address, a(SEARCHER)) - before
    if profit != returned - FRONT_RUN:
        raise DevnetBuildError(f"sandwich {back}: {SEARCHER} made {profit} WETH units")
    truth = {
        "sandwiches": [
            {
                "sandwicher_address": a(SEARCHER),
                "profit_token_address": weth.address,
                "profit_amount": profit,
                "kind": "balanced",
                "frontrun_swap": {
                    "transaction_hash": front,
                    "contract_address": pair.address,
                    "token_in_amount": FRONT_RUN,
                    "token_out_amount": bought,
                },
                "sandwiched_swaps": [
                    {
                        "transaction_hash": victim,
                        "from_address": a(VICTIM),
                        "token_in_amount": VICTIM_SALE,
                        "token_out_amount": victim_out,
                    }
                ],
                "backrun_swap": {
                    "transaction_hash": back,
                    "contract_address": pair.address,
                    "token_in_amount": bought,
                    "token_out_amount": returned,
                },
            }
        ]
    }
    return SCENARIO.record(
        exploit_tx=back,
        block_number=block.number,
        attacker=a(SEARCHER),
        victims=[a(VICTIM)],
        expected_mev=lower(truth),
    )


SCENARIO = declared("mev-sandwich", stage)
