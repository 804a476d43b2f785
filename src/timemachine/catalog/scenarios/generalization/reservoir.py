"""Reservoir: a constant-product ether/token pool with its own ABI (solc 0.7.6, a math library),
read as a spot-price oracle by SpotLender.

- `gen-own-capital-pump`: no flash loan. Mallory's PumpBorrower spends 300 of her own ETH on the
  token (its spot price rises 16-fold), pledges 5,000 of it to SpotLender, borrows the
  lender's whole cash and sells the rest back.
- `gen-large-honest-swap` (benign): bob buys the token with 50 ETH in one swap; the price more
  than doubles.
- `gen-arbitrage-round-trip` (benign): heidi's bot buys the token in a cheaper Reservoir and sells
  all of it in a dearer one, ending with only more ether.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract
from timemachine.catalog.scenarios.generalization.kit import (
    ATTACKER,
    deploy_own,
    expect,
)
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

TOKEN = 10**18
SEED_ETH = 100 * ETHER
SEED_TOKEN = 100_000 * TOKEN
DEAR_TOKEN = 50_000 * TOKEN
"""The second pool of the arbitrage: 100 ETH / 50,000 tokens (twice the first pool's price)."""
LENDER_CASH = {"carol": 25, "dave": 15}
PUMP = 300 * ETHER
PLEDGED = 5_000 * TOKEN
SWAP = 50 * ETHER
ARBITRAGE = 10 * ETHER
SWAP_GAS = 300_000


def amount_out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """ReserveMath.amountOut: constant product with a 0.3% fee, rounded down."""
    with_fee = amount_in * 997
    return with_fee * reserve_out // (reserve_in * 1000 + with_fee)


async def _token(world: World, label: str) -> Contract:
    token = await deploy_own(
        world.chain, "deployer", "GenToken", "Reserve", "RSV", name=f"{label} RSV"
    )
    await world.chain.mine()
    return token


async def reservoir(world: World, token: Contract, label: str, tokens: int) -> Contract:
    """A Reservoir over `token`, seeded by the deployer with 100 ETH and `tokens`."""
    chain = world.chain
    pool = await deploy_own(chain, "deployer", "Reservoir", token.address, name=label)
    await token.send("deployer", "mint", actor_address("deployer"), tokens)
    await chain.mine()
    await token.send("deployer", "approve", pool.address, tokens)
    await pool.send("deployer", "seed", tokens, value=SEED_ETH)
    await chain.mine()
    return pool


async def stage_pump(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    token = await _token(world, "Reservoir")
    pool = await reservoir(world, token, "Reservoir", SEED_TOKEN)
    lender = await deploy_own(chain, "deployer", "SpotLender", pool.address)
    borrower = await deploy_own(chain, ATTACKER, "PumpBorrower")
    await chain.mine()
    await lender.fund("supply", LENDER_CASH)
    cash = sum(LENDER_CASH.values()) * ETHER
    bought = amount_out(PUMP, SEED_ETH, SEED_TOKEN)
    pumped = (SEED_ETH + PUMP, SEED_TOKEN - bought)
    limit = PLEDGED * (pumped[0] * 10**18 // pumped[1]) // 10**18 * 75 // 100
    if limit < cash:
        raise DevnetBuildError(f"the pump would only lend {limit} wei, less than {cash}")
    sold = amount_out(bought - PLEDGED, pumped[1], pumped[0])
    outcome = await measure_exploit(
        chain,
        lambda: borrower.send(
            ATTACKER, "attack", pool.address, lender.address, PLEDGED, value=PUMP, gas=600_000
        ),
        attackers=[a(ATTACKER), borrower.address],
        victims=[lender.address],
        tokens=[token.address],
        expected_losses={"ETH": cash},
        what="own-capital spot-price pump",
    )
    expect("pump profit", outcome.profit, {"ETH": cash + sold - PUMP - outcome.fee})
    expect("pool after", await pool.call("reserveEth"), pumped[0] - sold)
    return PUMP_SCENARIO.exploited(
        outcome, attacker=a(ATTACKER), contracts=[borrower.address], victims=[lender.address]
    )


async def stage_large_swap(world: World) -> ScenarioRecord:
    chain = world.chain
    token = await _token(world, "Reservoir (swap)")
    pool = await reservoir(world, token, "Reservoir (swap)", SEED_TOKEN)
    price_before = await pool.call("spotPrice")
    out = amount_out(SWAP, SEED_ETH, SEED_TOKEN)
    tx = await pool.send("bob", "buyToken", out, value=SWAP, gas=SWAP_GAS)
    block = await chain.mine()
    expect("bob's tokens", await token.call("balanceOf", actor_address("bob")), out)
    expect(
        "price after the swap",
        await pool.call("spotPrice"),
        (SEED_ETH + SWAP) * 10**18 // (SEED_TOKEN - out),
    )
    if await pool.call("spotPrice") <= 2 * price_before:
        raise DevnetBuildError("the honest swap should more than double the price")
    return LARGE_SWAP.honest(tx, block, "bob")


async def stage_arbitrage(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    token = await _token(world, "Reservoir (arbitrage)")
    cheap = await reservoir(world, token, "Reservoir cheap", SEED_TOKEN)
    dear = await reservoir(world, token, "Reservoir dear", DEAR_TOKEN)
    bot = await deploy_own(chain, "heidi", "RoundTripBot")
    await chain.mine()
    bought = amount_out(ARBITRAGE, SEED_ETH, SEED_TOKEN)
    back = amount_out(bought, DEAR_TOKEN, SEED_ETH)
    before = await chain.balance(a("heidi"))
    tx = await bot.send("heidi", "run", cheap.address, dear.address, value=ARBITRAGE, gas=400_000)
    block = await chain.mine()
    expect(
        "heidi's gain", await chain.balance(a("heidi")) - before, back - ARBITRAGE - block.fee(tx)
    )
    expect("bot's tokens", await token.call("balanceOf", bot.address), 0)
    return ARBITRAGE_ROUND_TRIP.honest(tx, block, "heidi")


PUMP_SCENARIO = declared("gen-own-capital-pump", stage_pump)
LARGE_SWAP = declared("gen-large-honest-swap", stage_large_swap)
ARBITRAGE_ROUND_TRIP = declared("gen-arbitrage-round-trip", stage_arbitrage)
