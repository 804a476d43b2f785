"""Scenario `signature-replay-cheque`: one signed ChequeBank cheque cashed again and again.

Alice, bob and carol deposit 20 ETH into ChequeBank. Alice pays mallory 2 ETH with a signed cheque
(payer, payee, amount; no nonce, no domain), which mallory cashes honestly. Mallory then deploys
ChequeReplayer and has it cash the same cheque four more times in one transaction, until alice's
account (8 ETH) is empty; bob's and carol's deposits stay.
"""

from __future__ import annotations

from eth_utils.crypto import keccak

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import actor_address, sign_digest
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.world import World

ATTACKER = "mallory"
VICTIM = "alice"
CHEQUE = 2 * ETHER
EXPLOIT_GAS = 1_000_000


def sign_cheque(payer: str, payee: str, amount: int) -> bytes:
    """Actor `payer`'s 65-byte signature (r, s, v) of ChequeBank's cheque to actor `payee`."""
    cheque = keccak(
        bytes.fromhex(actor_address(payer)[2:])
        + bytes.fromhex(actor_address(payee)[2:])
        + amount.to_bytes(32, "big")
    )
    return sign_digest(payer, cheque)


async def stage(world: World) -> ScenarioRecord:
    """Fund the bank, cash one cheque honestly, replay it; verify the exact loss and payout."""
    chain, a = world.chain, actor_address
    bank = await deploy(chain, "deployer", "ChequeBank")
    await chain.mine()
    await bank.fund("deposit", {VICTIM: 10, "bob": 6, "carol": 4})
    signature = sign_cheque(VICTIM, ATTACKER, CHEQUE)
    await bank.send(ATTACKER, "cash", a(VICTIM), a(ATTACKER), CHEQUE, signature)
    replayer = await deploy(chain, ATTACKER, "ChequeReplayer")
    await chain.mine()

    return await SCENARIO.drained(
        chain,
        lambda: replayer.send(
            ATTACKER, "replay", bank.address, a(VICTIM), CHEQUE, signature, gas=EXPLOIT_GAS
        ),
        attacker=a(ATTACKER),
        contracts=[replayer.address],
        victim=bank.address,
        held=18 * ETHER,
        left=10 * ETHER,
        what="cheque replay",
    )


SCENARIO = declared("signature-replay-cheque", stage)
