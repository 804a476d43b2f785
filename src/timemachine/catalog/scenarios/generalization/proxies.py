"""Proxies: a transparent-proxy fee collector and a UUPS treasury, each attacked and used honestly.

- `gen-proxy-unprotected-sweep`: FeeCollector (behind a TransparentProxy) forgot the treasurer
  check on `sweepDust`; mallory, who never had any role, calls it from her EOA.
- `gen-proxy-fee-withdrawal` (benign): the treasurer withdraws collected fees through the proxy.
- `gen-uups-uninitialized`: a UUPS proxy deployed without its initializer call; mallory's contract
  initializes it, becomes owner and `upgradeToAndCall`s a sweeper implementation.
- `gen-uups-admin-upgrade` (benign): the owner upgrades an initialized UUPS proxy to V2.
"""

from __future__ import annotations

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract
from timemachine.catalog.scenarios.generalization.kit import (
    ATTACKER,
    bind,
    deploy_own,
    expect,
)
from timemachine.catalog.scenarios.world import World

TREASURER = "grace"
FEES = {"alice": 3, "bob": 5, "carol": 2, "heidi": 4}
WITHDRAWN = 6 * ETHER
UPGRADE_GAS = 600_000
TREASURY_DEPOSITS = {"bob": 9, "dave": 6, "frank": 5}


async def _fee_collector(world: World, label: str) -> Contract:
    """A FeeCollector behind a TransparentProxy (admin: deployer), merchants' fees paid in."""
    chain = world.chain
    implementation = await deploy_own(chain, "deployer", "FeeCollector", name=f"{label} impl")
    await chain.mine()
    init = implementation.artifact.calldata("initialize", actor_address(TREASURER))
    proxy = await deploy_own(
        chain,
        "deployer",
        "TransparentProxy",
        implementation.address,
        actor_address("deployer"),
        init,
        name=label,
    )
    await chain.mine()
    collector = bind(chain, proxy.address, "FeeCollector", label)
    await collector.fund("payFee", FEES)
    return collector


async def stage_fee_withdrawal(world: World) -> ScenarioRecord:
    collector = await _fee_collector(world, "FeeCollector proxy (benign)")
    tx = await collector.send(TREASURER, "withdrawFees", actor_address(TREASURER), WITHDRAWN)
    block = await world.chain.mine()
    held = sum(FEES.values()) * ETHER
    return await FEE_WITHDRAWAL.paid_out(
        world.chain,
        tx,
        block,
        contract=collector.address,
        held=held,
        left=held - WITHDRAWN,
        payee=TREASURER,
        paid=WITHDRAWN,
        what="fee withdrawal",
    )


async def stage_unprotected_sweep(world: World) -> ScenarioRecord:
    chain = world.chain
    collector = await _fee_collector(world, "FeeCollector proxy")
    await collector.send(TREASURER, "withdrawFees", actor_address(TREASURER), WITHDRAWN)
    await chain.mine()
    return await UNPROTECTED_SWEEP.drained(
        chain,
        lambda: collector.send(ATTACKER, "sweepDust", actor_address(ATTACKER)),
        attacker=actor_address(ATTACKER),
        contracts=[],
        victim=collector.address,
        held=sum(FEES.values()) * ETHER - WITHDRAWN,
        left=0,
        what="unprotected sweep",
    )


async def _treasury(world: World, label: str, *, initialized: bool) -> Contract:
    """A UupsTreasury behind a UupsProxy with users' deposits (initializer called or forgotten)."""
    chain = world.chain
    implementation = await deploy_own(chain, "deployer", "UupsTreasury", name=f"{label} impl")
    await chain.mine()
    init = b""
    if initialized:
        init = implementation.artifact.calldata("initialize", actor_address("deployer"))
    proxy = await deploy_own(
        chain, "deployer", "UupsProxy", implementation.address, init, name=label
    )
    await chain.mine()
    treasury = bind(chain, proxy.address, "UupsTreasury", label)
    await treasury.fund("deposit", TREASURY_DEPOSITS)
    await treasury.send("bob", "withdraw", 2 * ETHER)
    await chain.mine()
    return treasury


async def stage_uups_hijack(world: World) -> ScenarioRecord:
    chain = world.chain
    treasury = await _treasury(world, "UupsTreasury proxy", initialized=False)
    sweeper = await deploy_own(chain, ATTACKER, "EtherSweeperImpl")
    hijacker = await deploy_own(chain, ATTACKER, "ProxyHijacker")
    await chain.mine()
    record = await UUPS_HIJACK.drained(
        chain,
        lambda: hijacker.send(
            ATTACKER, "hijack", treasury.address, sweeper.address, gas=UPGRADE_GAS
        ),
        attacker=actor_address(ATTACKER),
        contracts=[hijacker.address, sweeper.address],
        victim=treasury.address,
        held=(sum(TREASURY_DEPOSITS.values()) - 2) * ETHER,
        left=0,
        what="UUPS hijack",
    )
    # the proxy now runs the sweeper, which has no getters: read the owner slot (0) directly
    owner = await chain.rpc.call("eth_getStorageAt", [treasury.address, "0x0", "latest"])
    expect("hijacked owner", int(owner, 16), int(hijacker.address, 16))
    return record


async def stage_admin_upgrade(world: World) -> ScenarioRecord:
    chain = world.chain
    treasury = await _treasury(world, "UupsTreasury proxy (benign)", initialized=True)
    v2 = await deploy_own(chain, "deployer", "UupsTreasuryV2")
    await chain.mine()
    expect("version before", await treasury.call("version"), 1)
    tx = await treasury.send("deployer", "upgradeToAndCall", v2.address, b"", gas=UPGRADE_GAS)
    block = await chain.mine()
    expect("version after", await treasury.call("version"), 2)
    expect("funds after", await chain.balance(treasury.address), 18 * ETHER)
    return ADMIN_UPGRADE.honest(tx, block, "deployer")


UNPROTECTED_SWEEP = declared("gen-proxy-unprotected-sweep", stage_unprotected_sweep)
FEE_WITHDRAWAL = declared("gen-proxy-fee-withdrawal", stage_fee_withdrawal)
UUPS_HIJACK = declared("gen-uups-uninitialized", stage_uups_hijack)
ADMIN_UPGRADE = declared("gen-uups-admin-upgrade", stage_admin_upgrade)
