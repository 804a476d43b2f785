"""Shared DeFi markets for the token scenarios: a 6-decimal dollar, AMM pairs, a router and an
ERC-3156 flash lender, deployed the first time a scenario asks for them.

Built lazily (by `markets(world)`) so the scenarios staged before it keep their hashes; the
first scenario that needs a market always stages at the same point, so the history stays
deterministic. Prices: 1 WETH = 3,000 USDX; 1 WETH = 2,000 DEMO.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.scenarios.contract import Contract, deploy
from timemachine.catalog.scenarios.world import DEMO, Markets, World

USD = 10**6
"""One USDX (6 decimals)."""
DEADLINE = 2_000_000_000
"""A swap deadline (May 2033) well after every devnet block."""
LIQUIDITY_GAS = 3_000_000
"""addLiquidity creates the pair on first use (a contract creation)."""
SWAP_GAS = 400_000
USERS_USDX = {"alice": 60_000, "bob": 40_000, "carol": 25_000, "dave": 25_000}


async def add_liquidity(
    router: Contract,
    provider: str,
    tokens: tuple[str, str],
    amounts: tuple[int, int],
) -> str:
    """Queue actor `provider`'s `addLiquidity` of `amounts` of the two `tokens` through `router`
    (creating the pair on first use), the LP tokens to the provider; return the tx hash."""
    return await router.send(
        provider,
        "addLiquidity",
        *tokens,
        *amounts,
        actor_address(provider),
        gas=LIQUIDITY_GAS,
    )


async def swap(
    router: Contract, trader: str, amount: int, path: list[str], *, min_out: int = 0
) -> str:
    """Queue actor `trader`'s `swapExactTokensForTokens` of `amount` along `path` through
    `router`, paid to the trader; return the tx hash."""
    return await router.send(
        trader,
        "swapExactTokensForTokens",
        amount,
        min_out,
        path,
        actor_address(trader),
        DEADLINE,
        gas=SWAP_GAS,
    )


async def markets(world: World) -> Markets:
    """The world's markets, deployed and seeded on first use (three blocks)."""
    if world.markets is None:
        world.markets = await _build(world)
    return world.markets


async def _build(world: World) -> Markets:
    chain, weth, token, a = world.chain, world.weth, world.token, actor_address
    usdx = await deploy(chain, "deployer", "MarketToken", "Dollar X", "USDX", 6)
    factory = await deploy(chain, "deployer", "PairFactory")
    router = await deploy(chain, "deployer", "SwapRouter", factory.address)
    lender = await deploy(chain, "deployer", "FlashLender")
    await chain.mine()

    await weth.send("deployer", "deposit", value=700 * ETHER)
    await usdx.send("deployer", "mint", a("deployer"), 5_000_000 * USD)
    await token.send("deployer", "mint", a("deployer"), 100_000 * DEMO)
    for asset in (weth, usdx, token):
        await asset.send("deployer", "approve", router.address, 2**256 - 1)
    await add_liquidity(
        router, "deployer", (weth.address, usdx.address), (100 * ETHER, 300_000 * USD)
    )
    await add_liquidity(
        router, "deployer", (token.address, weth.address), (100_000 * DEMO, 50 * ETHER)
    )
    await usdx.send("deployer", "transfer", lender.address, 2_000_000 * USD)
    await weth.send("deployer", "transfer", lender.address, 500 * ETHER)
    for user, amount in USERS_USDX.items():
        await usdx.send("deployer", "transfer", a(user), amount * USD)
    await chain.mine()

    weth_usdx = await factory.call("getPair", weth.address, usdx.address)
    demo_weth = await factory.call("getPair", token.address, weth.address)
    return Markets(
        usdx=usdx,
        factory=factory,
        router=router,
        lender=lender,
        weth_usdx=Contract.at(chain, weth_usdx, "SwapPair", "SwapPair WETH/USDX"),
        demo_weth=Contract.at(chain, demo_weth, "SwapPair", "SwapPair DEMO/WETH"),
    )
