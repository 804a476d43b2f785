"""Benign control `cheque-cashed-once`: a NonceChequeBank cheque cashed once by its payee.

Looks like `signature-replay-cheque` (deposits, then a signed cheque cashed against the payer's
balance) but the cheque names the bank, the chain and a nonce, and is cashed exactly once.
The representative tx is frank cashing bob's 1.5 ETH cheque.
"""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from timemachine.catalog.builder import ETHER
from timemachine.catalog.devnet import DEVNET_CHAIN_ID, actor_address, sign_digest
from timemachine.catalog.models import ScenarioRecord
from timemachine.catalog.scenarios.base import declared
from timemachine.catalog.scenarios.contract import deploy
from timemachine.catalog.scenarios.world import World

PAYER = "bob"
PAYEE = "frank"
CHEQUE = 3 * ETHER // 2
NONCE = 0


def sign_cheque(bank: str, payer: str, payee: str, amount: int, nonce: int) -> bytes:
    """Actor `payer`'s 65-byte signature of NonceChequeBank `bank`'s cheque `nonce`."""
    cheque = keccak(
        abi_encode(
            ["address", "uint256", "address", "address", "uint256", "uint256"],
            [bank, DEVNET_CHAIN_ID, actor_address(payer), actor_address(payee), amount, nonce],
        )
    )
    return sign_digest(payer, cheque)


async def stage(world: World) -> ScenarioRecord:
    """Fund the bank, then the payee cashes one signed cheque; verify the payment."""
    chain, a = world.chain, actor_address
    bank = await deploy(chain, "deployer", "NonceChequeBank")
    await chain.mine()
    await bank.fund("deposit", {PAYER: 5, "carol": 3, "dave": 4})
    signature = sign_cheque(bank.address, PAYER, PAYEE, CHEQUE, NONCE)
    tx = await bank.send(PAYEE, "cash", a(PAYER), a(PAYEE), CHEQUE, NONCE, signature)
    block = await chain.mine()

    return await SCENARIO.paid_out(
        chain,
        tx,
        block,
        contract=bank.address,
        held=12 * ETHER,
        left=12 * ETHER - CHEQUE,
        payee=PAYEE,
        paid=CHEQUE,
        what="cheque control",
    )


SCENARIO = declared("cheque-cashed-once", stage)
