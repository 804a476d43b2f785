"""Scenario `reentrancy-vault-shares`: VaultRaiders drain ShareVault by cross-function reentrancy.

Five users put 22 ETH into ShareVault and use it (a share transfer, a redemption) until it holds
20 ETH. The attacker EOA (mallory) deploys a pair of VaultRaider contracts, each the other's
partner, then calls `raid{value: 5 ether}()` on the leader: while `redeemAll` pays a raider, the
raider moves the shares being paid for to its partner with `transfer`, and the partner redeems them
again; four hand-overs later the vault is empty and the leader pays mallory.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER, create_address
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

ATTACKER = "mallory"
STAKE = 5 * ETHER
EXPLOIT_GAS = 3_000_000


async def stage(world: World) -> ScenarioRecord:
    """Deploy and use the vault, deploy the raider pair, raid; verify the exact loss and payout."""
    chain, a = world.chain, actor_address
    vault = await deploy(chain, "deployer", "ShareVault")
    await chain.mine()
    await vault.fund("deposit", {"alice": 6, "bob": 4, "carol": 5, "dave": 5})
    await vault.send("alice", "transfer", a("erin"), 2 * ETHER)
    await vault.send("erin", "redeemAll")
    await vault.send("frank", "deposit", value=2 * ETHER)
    await chain.mine()

    nonce = chain.next_nonce(ATTACKER)
    leader_address = create_address(a(ATTACKER), nonce)
    partner_address = create_address(a(ATTACKER), nonce + 1)
    leader = await deploy(chain, ATTACKER, "VaultRaider", vault.address, partner_address)
    partner = await deploy(
        chain, ATTACKER, "VaultRaider", vault.address, leader_address, name="VaultRaiderPartner"
    )
    if (leader.address, partner.address) != (leader_address, partner_address):
        raise DevnetBuildError("the VaultRaider pair did not land at the predicted addresses")
    await chain.mine()

    return await SCENARIO.drained(
        chain,
        lambda: leader.send(ATTACKER, "raid", value=STAKE, gas=EXPLOIT_GAS),
        attacker=a(ATTACKER),
        contracts=[leader.address, partner.address],
        victim=vault.address,
        held=20 * ETHER,
        left=0,
        what="cross-function reentrancy",
    )


SCENARIO = declared("reentrancy-vault-shares", stage)
