"""Fixed facts of the embedded devnet: anvil flags, chain id, clock, and the named actors.

The devnet is a fresh anvil started with `DEVNET_ANVIL_ARGS` (forks.devnet.run_devnet does it).
Every actor is an account of the well-known Foundry/Hardhat test mnemonic, so every key (and
therefore every signed transaction) is the same on every machine.
"""

from __future__ import annotations

from functools import cache

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from timemachine.errors import InvalidInputError

DEVNET_CHAIN_ID = 31337
DEVNET_HARDFORK = "prague"
DEVNET_MNEMONIC = "test test test test test test test test test test test junk"
GENESIS_TIMESTAMP = 1_700_000_000
BLOCK_TIME = 12
"""Seconds between blocks: block n is stamped GENESIS_TIMESTAMP + BLOCK_TIME * n."""

ACTORS = (
    "deployer",
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "mallory",
)
"""Actor names; actor i owns the mnemonic's account m/44'/60'/0'/0/i."""

DEVNET_ANVIL_ARGS = (
    "--chain-id",
    str(DEVNET_CHAIN_ID),
    "--hardfork",
    DEVNET_HARDFORK,
    "--timestamp",
    str(GENESIS_TIMESTAMP),
    "--no-mining",
    "--order",
    "fifo",
    "--accounts",
    str(len(ACTORS)),
    "--balance",
    "10000",
    "--mnemonic",
    DEVNET_MNEMONIC,
    "--silent",
)


def block_timestamp(number: int) -> int:
    """The timestamp the history builder gives block `number`."""
    return GENESIS_TIMESTAMP + BLOCK_TIME * number


@cache
def actor_account(name: str) -> LocalAccount:
    """The signing account of actor `name` (derived once from the devnet mnemonic)."""
    if name not in ACTORS:
        raise InvalidInputError(f"unknown devnet actor {name!r}; known: {', '.join(ACTORS)}")
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        DEVNET_MNEMONIC, account_path=f"m/44'/60'/0'/0/{ACTORS.index(name)}"
    )
    return account


def sign_digest(name: str, digest: bytes) -> bytes:
    """Actor `name`'s 65-byte signature (r, s, v) of `digest` as an EIP-191 personal message
    (what `ecrecover(toEthSignedMessageHash(digest), ...)` checks)."""
    signed = actor_account(name).sign_message(encode_defunct(primitive=digest))
    return bytes(signed.signature)


def actor_address(name: str) -> str:
    """The checksummed address of actor `name`."""
    address: str = actor_account(name).address
    return address
