"""Benign control `governance-vote`: long-standing GOV holders pass a grant through the normal
governance path and the treasury pays it.

The Grants DAO runs the same contracts as the governance takeover (GovToken, TokenGovernor with
its treasury, a GOV/WETH pool). The holders got their GOV many blocks before; alice proposes a
grant of 5 ETH and 20,000 USDX to erin, the holders vote over three blocks, and after the voting
period dave calls the normal `execute`. The representative tx is that execution: value leaves the
treasury to an outsider, as in the takeover, but the votes were cast blocks earlier with tokens
the voters held all along.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.dao import (
    AGAINST,
    FOR,
    GOV,
    Proposal,
    Treasury,
    deploy_dao,
    run_proposal,
)
from timemachine.catalog.scenarios.markets import USD
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

NAME = "Grants DAO"
HOLDERS = {"alice": 90_000, "bob": 60_000, "carol": 40_000, "dave": 25_000, "grace": 10_000}
TREASURY = Treasury(eth=60 * ETHER, usdx=100_000 * USD, gov=50_000 * GOV)
GRANT_ETH, GRANT_USDX = 5 * ETHER, 20_000 * USD
EXECUTOR = "dave"
HOLDING_BLOCKS = 3
"""Quiet blocks between the GOV distribution and the proposal."""


async def stage(world: World) -> ScenarioRecord:
    """Distribute GOV, wait, propose the grant, vote over three blocks, execute; verify erin got
    exactly the grant."""
    chain, a = world.chain, actor_address
    dao = await deploy_dao(
        world,
        NAME,
        holders=HOLDERS,
        treasury=TREASURY,
        pool_gov=400_000 * GOV,
        pool_weth=40 * ETHER,
    )
    for _ in range(HOLDING_BLOCKS):
        await chain.mine()
    usdx = dao.market.usdx
    grant = Proposal(
        [a("erin"), usdx.address],
        [GRANT_ETH, 0],
        [b"", usdx.artifact.calldata("transfer", a("erin"), GRANT_USDX)],
        "Grant erin 5 ETH and 20,000 USDX for the Q3 security review",
    )
    votes = [
        [("alice", FOR), ("carol", FOR)],
        [("bob", FOR), ("grace", AGAINST)],
        [("dave", FOR)],
    ]
    eth_before = await chain.balance(a("erin"))
    usdx_before = await usdx.call("balanceOf", a("erin"))
    tx, _ = await run_proposal(dao, "alice", grant, votes, executor=EXECUTOR)
    block = await chain.mine()
    paid = (
        await chain.balance(a("erin")) - eth_before,
        await usdx.call("balanceOf", a("erin")) - usdx_before,
    )
    if paid != (GRANT_ETH, GRANT_USDX):
        raise DevnetBuildError(f"{NAME} grant {tx} paid erin {paid}")
    return SCENARIO.honest(tx, block, EXECUTOR)


SCENARIO = declared("governance-vote", stage)
