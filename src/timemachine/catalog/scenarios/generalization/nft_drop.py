"""An NFT giveaway (one per address) whose claim is recorded after the ERC-721 receiver hook.

- `gen-nft-hook-claim`: ClaimDrop hands the NFT over with `safeTransferFrom` before recording the
  claim; the attacker's onERC721Received claims again until the drop's stock is gone (18 NFTs
  instead of 1: a per-account cap broken, a non-fungible stock taken).
- `gen-nft-capped-claim` (benign): CappedClaimDrop records first; carol's SmartWallet claims its
  one NFT and its receiver hook forwards it to carol (a call back into the NFT mid-claim).
"""

from __future__ import annotations

from timemachine.catalog.devnet import actor_address
from timemachine.catalog.exploit import measure_exploit
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import Contract
from timemachine.catalog.scenarios.generalization.kit import ATTACKER, deploy_own, expect
from timemachine.catalog.scenarios.world import World

STOCK = 20
HONEST_CLAIMERS = ("alice", "bob")
CLAIM_GAS = 3_000_000


async def _drop(world: World, artifact: str) -> tuple[Contract, Contract]:
    """A GenesisNft collection and a drop of `artifact` holding ids 1..20, two claimed by EOAs."""
    chain = world.chain
    nft = await deploy_own(chain, "deployer", "GenesisNft", name=f"GenesisNft ({artifact})")
    await chain.mine()
    drop = await deploy_own(chain, "deployer", artifact, nft.address, 1)
    await chain.mine()
    await nft.send("deployer", "mintBatch", drop.address, STOCK, gas=1_500_000)
    await chain.mine()
    for user in HONEST_CLAIMERS:
        await drop.send(user, "claim")
    await chain.mine()
    return nft, drop


async def stage_hook_claim(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    nft, drop = await _drop(world, "ClaimDrop")
    claimer = await deploy_own(chain, ATTACKER, "DropClaimer", drop.address)
    await chain.mine()
    taken = STOCK - len(HONEST_CLAIMERS)
    outcome = await measure_exploit(
        chain,
        lambda: claimer.send(ATTACKER, "start", gas=CLAIM_GAS),
        attackers=[a(ATTACKER), claimer.address],
        victims=[drop.address],
        tokens=[nft.address],
        expected_losses={nft.address.lower(): taken},
        what="NFT receiver-hook claim",
    )
    expect("NFTs claimed", outcome.profit[nft.address.lower()], taken)
    return HOOK_CLAIM.exploited(
        outcome, attacker=a(ATTACKER), contracts=[claimer.address], victims=[drop.address]
    )


async def stage_capped_claim(world: World) -> ScenarioRecord:
    chain, a = world.chain, actor_address
    nft, drop = await _drop(world, "CappedClaimDrop")
    wallet = await deploy_own(chain, "carol", "SmartWallet", name="SmartWallet (NFT)")
    await chain.mine()
    claim = drop.artifact.calldata("claim")
    tx = await wallet.send("carol", "execute", drop.address, 0, claim, gas=400_000)
    block = await chain.mine()
    expect("carol's NFT", await nft.call("ownerOf", 3), a("carol").lower())
    expect("drop stock", await nft.call("balanceOf", drop.address), STOCK - 3)
    await wallet.send("carol", "execute", drop.address, 0, claim, expect_revert=True)
    await chain.mine()
    return CAPPED_CLAIM.honest(tx, block, "carol")


HOOK_CLAIM = declared("gen-nft-hook-claim", stage_hook_claim)
CAPPED_CLAIM = declared("gen-nft-capped-claim", stage_capped_claim)
