"""The shared devnet world: a token, WETH and a bank, used by ordinary users before any exploit.

Blocks 1-2 deploy and seed the contracts, blocks 3-6 carry everyday activity, and block 7 is the
busy block: 28 transactions from eight senders, several of which only work (or only do what they
do) because of an earlier transaction in the same block.
"""

from __future__ import annotations

from dataclasses import dataclass

from timemachine.catalog.builder import ETHER, ChainBuilder
from timemachine.catalog.devnet import actor_address
from timemachine.catalog.scenarios.contract import Contract, deploy
from timemachine.errors import DevnetBuildError

DEMO = 10**18
"""One DEMO token (18 decimals)."""
BUSY_TX_INDEX = 21


@dataclass(frozen=True)
class Markets:
    """The deployed market contracts and the two AMM pairs."""

    usdx: Contract
    factory: Contract
    router: Contract
    lender: Contract
    weth_usdx: Contract
    """The WETH/USDX pair: 100 WETH and 300,000 USDX."""
    demo_weth: Contract
    """The DEMO/WETH pair: 100,000 DEMO and 50 WETH."""


@dataclass
class World:
    """The deployed shared contracts and the busy block's notable transaction."""

    chain: ChainBuilder
    token: Contract
    weth: Contract
    bank: Contract
    busy_block: int = 0
    busy_tx: str = ""
    markets: Markets | None = None
    """The DeFi markets, once a scenario has asked for them (built by `scenarios.markets`)."""


async def build_world(chain: ChainBuilder) -> World:
    """Deploy the shared contracts, run everyday activity and the busy block."""
    world = await _deploy(chain)
    await _everyday(world)
    await _busy_block(world)
    return world


async def _deploy(chain: ChainBuilder) -> World:
    token = await deploy(chain, "deployer", "DemoToken", "Demo Token", "DEMO")
    weth = await deploy(chain, "deployer", "WrappedEther")
    bank = await deploy(chain, "deployer", "EtherBank")
    await chain.mine()
    mints = {"alice": 10_000, "bob": 10_000, "carol": 5_000, "dave": 5_000, "erin": 2_000}
    for user, amount in mints.items():
        await token.send("deployer", "mint", actor_address(user), amount * DEMO)
    await chain.mine()
    return World(chain, token, weth, bank)


async def _everyday(world: World) -> None:
    chain, token, weth, bank = world.chain, world.token, world.weth, world.bank
    await bank.send("alice", "deposit", value=10 * ETHER)
    await bank.send("bob", "deposit", value=8 * ETHER)
    await weth.send("carol", "deposit", value=5 * ETHER)
    await token.send("alice", "transfer", actor_address("frank"), 250 * DEMO)
    await chain.mine()

    await bank.send("dave", "deposit", value=12 * ETHER)
    await bank.send("erin", "deposit", value=1 * ETHER)
    await token.send("bob", "approve", actor_address("grace"), 1_000 * DEMO)
    await chain.send("heidi", weth.address, value=3 * ETHER, what="heidi -> WrappedEther.receive")
    await chain.mine()

    await token.send(
        "grace", "transferFrom", actor_address("bob"), actor_address("grace"), 400 * DEMO
    )
    await bank.send("alice", "withdraw", 2 * ETHER)
    await weth.send("carol", "withdraw", 2 * ETHER)
    await bank.send("frank", "deposit", value=4 * ETHER)
    await chain.mine()

    await weth.send("carol", "transfer", actor_address("dave"), 1 * ETHER)
    await token.send("dave", "transfer", actor_address("heidi"), 300 * DEMO)
    await bank.send("heidi", "deposit", value=10 * ETHER)
    await chain.mine()


async def _busy_block(world: World) -> None:
    """28 txs; comments mark those that depend on an earlier tx of this block."""
    token, weth, bank, a = world.token, world.weth, world.bank, actor_address
    txs = [
        await token.send("alice", "transfer", a("bob"), 100 * DEMO),
        await bank.send("bob", "deposit", value=2 * ETHER),
        await weth.send("carol", "deposit", value=1 * ETHER),
        await bank.send("alice", "depositFor", a("erin"), value=2 * ETHER),
        await token.send("dave", "transfer", a("carol"), 50 * DEMO),
        await token.send("frank", "approve", a("grace"), 100 * DEMO),
        await token.send("grace", "transfer", a("heidi"), 40 * DEMO),
        await weth.send("heidi", "transfer", a("alice"), ETHER // 2),
        await token.send("erin", "transfer", a("dave"), 100 * DEMO),
        await token.send("bob", "transfer", a("carol"), 75 * DEMO),
        await bank.send("carol", "deposit", value=3 * ETHER),
        await bank.send("erin", "deposit", value=3 * ETHER),
        await weth.send("dave", "deposit", value=2 * ETHER),
        await bank.send("frank", "withdraw", 1 * ETHER),
        # needs frank's approval at index 5 (reverts without it)
        await token.send("grace", "transferFrom", a("frank"), a("grace"), 100 * DEMO),
        await bank.send("heidi", "deposit", value=1 * ETHER),
        # spends the WETH heidi sent alice at index 7 (reverts without it)
        await weth.send("alice", "withdraw", ETHER // 2),
        await weth.send("bob", "deposit", value=1 * ETHER),
        await token.send("carol", "transfer", a("alice"), 25 * DEMO),
        await bank.send("dave", "withdraw", 2 * ETHER),
        await token.send("heidi", "transfer", a("erin"), 10 * DEMO),
        # THE busy tx: withdraws 6 ETH = 1 (before) + 2 (alice, index 3) + 3 (erin, index 11);
        # replayed without the earlier txs it still succeeds but withdraws only 1 ETH
        await bank.send("erin", "withdrawAll"),
        await weth.send("frank", "deposit", value=ETHER // 2),
        await bank.send("grace", "deposit", value=5 * ETHER),
        await token.send("alice", "approve", a("dave"), 500 * DEMO),
        await token.send("bob", "transfer", a("frank"), 20 * DEMO),
        await weth.send("carol", "withdraw", 1 * ETHER),
        # needs alice's approval at index 24 (reverts without it)
        await token.send("dave", "transferFrom", a("alice"), a("dave"), 200 * DEMO),
    ]
    block = await world.chain.mine()
    busy_tx = txs[BUSY_TX_INDEX]
    index = int(block.receipt(busy_tx)["transactionIndex"], 16)
    if len(block.tx_hashes) < 25 or index != BUSY_TX_INDEX:
        raise DevnetBuildError(f"busy block {block.number} came out wrong (busy tx at {index})")
    world.busy_block, world.busy_tx = block.number, busy_tx
