"""Scenario `unprotected-initializer`: WalletHijacker re-initializes TreasuryWallet and empties it.

The deployer sets TreasuryWallet up with `initialize(deployer)`, five members contribute 25 ETH and
the owner pays a 3 ETH invoice. The attacker EOA (mallory) deploys WalletHijacker, which in one
transaction calls `initialize(itself)` (the flag is never checked), becomes the owner and `pay`s
the whole treasury (22 ETH) to mallory.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.world import World

ATTACKER = "mallory"
EXPLOIT_GAS = 500_000


async def stage(world: World) -> ScenarioRecord:
    """Set up and use the treasury, deploy the hijacker, hijack; verify the loss and payout."""
    chain, a = world.chain, actor_address
    wallet = await deploy(chain, "deployer", "TreasuryWallet")
    await wallet.send("deployer", "initialize", a("deployer"))
    await chain.mine()
    await wallet.fund("contribute", {"bob": 7, "carol": 3, "dave": 4, "erin": 6, "heidi": 5})
    await wallet.send("deployer", "pay", a("grace"), 3 * ETHER)
    hijacker = await deploy(chain, ATTACKER, "WalletHijacker")
    await chain.mine()

    return await SCENARIO.drained(
        chain,
        lambda: hijacker.send(ATTACKER, "hijack", wallet.address, gas=EXPLOIT_GAS),
        attacker=a(ATTACKER),
        contracts=[hijacker.address],
        victim=wallet.address,
        held=22 * ETHER,
        left=0,
        what="initializer takeover",
    )


SCENARIO = declared("unprotected-initializer", stage)
