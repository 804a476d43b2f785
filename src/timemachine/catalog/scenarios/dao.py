"""A token-voting DAO for the governance scenarios: GovToken (votes = current balance),
TokenGovernor owning a treasury of ETH, USDX and GOV, and a GOV/WETH pair as GOV's liquidity.

`deploy_dao` deploys and seeds one DAO (two blocks) on the shared markets; `run_proposal` takes an
honest proposal through the normal path (propose, votes over several blocks, execute).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from eth_utils.crypto import keccak

from timemachine.catalog.devnet import actor_address
from timemachine.catalog.scenarios.contract import Contract, deploy
from timemachine.catalog.scenarios.markets import add_liquidity, markets
from timemachine.catalog.scenarios.world import Markets, World
from timemachine.errors import DevnetBuildError
from timemachine.hexutil import checksum

GOV = 10**18
"""One GOV (18 decimals)."""
VOTING_DELAY = 1
"""Blocks between a proposal and the opening of its vote."""
VOTING_PERIOD = 5
"""Blocks a vote stays open."""
PROPOSAL_THRESHOLD = 1_000 * GOV
QUORUM_PERCENT = 10
PROPOSE_GAS = 600_000
VOTE_GAS = 150_000
EXECUTE_GAS = 400_000
FOR, AGAINST = 1, 0


@dataclass(frozen=True)
class Treasury:
    """What the governor holds once seeded."""

    eth: int
    usdx: int
    gov: int


@dataclass(frozen=True)
class Dao:
    """One deployed DAO and the markets it trades on."""

    token: Contract
    governor: Contract
    pair: Contract
    """The GOV/WETH SwapPair."""
    market: Markets


@dataclass(frozen=True)
class Proposal:
    """A proposal's actions, as propose/execute/emergencyCommit take them."""

    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description: str

    @property
    def description_hash(self) -> bytes:
        return bytes(keccak(text=self.description))

    def actions(self) -> tuple[list[str], list[int], list[bytes], bytes]:
        """The arguments of execute / emergencyCommit."""
        return self.targets, self.values, self.calldatas, self.description_hash


async def deploy_dao(
    world: World,
    name: str,
    *,
    holders: Mapping[str, int],
    treasury: Treasury,
    pool_gov: int,
    pool_weth: int,
) -> Dao:
    """Deploy GovToken and TokenGovernor as `name`, mint `holders` their GOV (whole tokens), seed
    the treasury and a GOV/WETH pool (all minted by the deployer). Two blocks."""
    chain, weth, a = world.chain, world.weth, actor_address
    market = await markets(world)
    token = await deploy(chain, "deployer", "GovToken", f"{name} Token", "GOV", name=f"{name} GOV")
    governor = await deploy(
        chain,
        "deployer",
        "TokenGovernor",
        name,
        token.address,
        VOTING_DELAY,
        VOTING_PERIOD,
        PROPOSAL_THRESHOLD,
        QUORUM_PERCENT,
        name=f"{name} Governor",
    )
    await chain.mine()

    for holder, amount in holders.items():
        await token.send("deployer", "mint", a(holder), amount * GOV)
    await token.send("deployer", "mint", governor.address, treasury.gov)
    await token.send("deployer", "mint", a("deployer"), pool_gov)
    await token.send("deployer", "approve", market.router.address, 2**256 - 1)
    await weth.send("deployer", "deposit", value=pool_weth)
    await add_liquidity(
        market.router, "deployer", (token.address, weth.address), (pool_gov, pool_weth)
    )
    await chain.send(
        "deployer", governor.address, value=treasury.eth, what=f"deployer -> {name} treasury"
    )
    await market.usdx.send("deployer", "transfer", governor.address, treasury.usdx)
    await chain.mine()
    pair = await market.factory.call("getPair", token.address, weth.address)
    return Dao(
        token=token,
        governor=governor,
        pair=Contract.at(chain, checksum(pair), "SwapPair", f"SwapPair {name} GOV/WETH"),
        market=market,
    )


async def run_proposal(
    dao: Dao,
    proposer: str,
    proposal: Proposal,
    votes: Sequence[Sequence[tuple[str, int]]],
    executor: str,
) -> tuple[str, list[str]]:
    """Propose, cast `votes` (one list of (voter, support) per block, starting the block after
    the proposal), mine until the vote is over, then execute with `executor`.

    Returns the execute tx hash (queued, not yet mined) and the vote tx hashes."""
    chain, governor = dao.governor.chain, dao.governor
    await propose(dao, proposer, proposal)
    proposed = await chain.mine()
    number = await proposal_id(dao, proposal)
    vote_txs: list[str] = []
    for block_votes in votes:
        for voter, support in block_votes:
            vote_txs.append(await governor.send(voter, "castVote", number, support, gas=VOTE_GAS))
        await chain.mine()
    deadline = proposed.number + VOTING_DELAY + VOTING_PERIOD
    while chain.block_number < deadline:
        await chain.mine()
    execute = await governor.send(executor, "execute", *proposal.actions(), gas=EXECUTE_GAS)
    return execute, vote_txs


async def proposal_id(dao: Dao, proposal: Proposal) -> int:
    """The governor's id of `proposal` (hashProposal)."""
    value = await dao.governor.call("hashProposal", *proposal.actions())
    if not isinstance(value, int):
        raise DevnetBuildError(f"hashProposal returned {value!r}")
    return value


async def propose(dao: Dao, proposer: str, proposal: Proposal) -> str:
    """Queue `proposer`'s proposal; return the tx hash."""
    targets, values, calldatas, _ = proposal.actions()
    return await dao.governor.send(
        proposer, "propose", targets, values, calldatas, proposal.description, gas=PROPOSE_GAS
    )
