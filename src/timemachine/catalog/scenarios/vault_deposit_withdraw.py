"""Benign control `vault-deposit-withdraw`: GuardedVault used honestly by several users.

Looks like `reentrancy-vault-shares` (an ETH vault with transferable shares; deposits, a share
transfer, redemptions) but the vault follows checks-effects-interactions behind a lock and nobody
attacks it. The representative tx is bob redeeming 3 of his 4 ETH of shares.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.world import World

SENDER = "bob"
REDEEMED = 3 * ETHER


async def stage(world: World) -> ScenarioRecord:
    """Deploy the vault, let users deposit, move and redeem shares; verify the redemption."""
    chain, a = world.chain, actor_address
    vault = await deploy(chain, "deployer", "GuardedVault")
    await chain.mine()
    await vault.fund("deposit", {"alice": 5, SENDER: 4, "carol": 3, "dave": 2})
    await vault.send("carol", "transfer", a("erin"), 1 * ETHER)
    await vault.send("erin", "redeem", 1 * ETHER)
    tx = await vault.send(SENDER, "redeem", REDEEMED)
    block = await chain.mine()

    return await SCENARIO.paid_out(
        chain,
        tx,
        block,
        contract=vault.address,
        held=14 * ETHER,
        left=10 * ETHER,
        payee=SENDER,
        paid=REDEEMED,
        what="vault control",
    )


SCENARIO = declared("vault-deposit-withdraw", stage)
