"""Scenario `reentrancy-bank`: BankAttacker drains EtherBank through single-function reentrancy.

The attacker EOA (mallory) deploys BankAttacker in one block and calls `attack{value: 1 ether}()`
in the next. The stake is withdrawn once per re-entrant frame (bank -> attacker.receive -> bank),
until every user's deposit is gone; the loot is forwarded to mallory.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.world import World

ATTACKER = "mallory"
STAKE = 1 * ETHER
EXPLOIT_GAS = 5_000_000


async def stage(world: World) -> ScenarioRecord:
    """Deploy the attacker contract, then drain the bank; verify the exact loss and payout."""
    chain, bank = world.chain, world.bank
    attacker_contract = await deploy(chain, ATTACKER, "BankAttacker", bank.address)
    await chain.mine()

    return await SCENARIO.drained(
        chain,
        lambda: attacker_contract.send(ATTACKER, "attack", value=STAKE, gas=EXPLOIT_GAS),
        attacker=actor_address(ATTACKER),
        contracts=[attacker_contract.address],
        victim=bank.address,
        held=None,
        left=0,
        what="reentrancy exploit",
    )


SCENARIO = declared("reentrancy-bank", stage)
