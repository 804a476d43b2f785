"""Deterministic block building on a devnet anvil (automine off, FIFO ordering).

Transactions are signed locally (EIP-1559, fixed fees, explicit gas limits, tracked nonces) and
queued with eth_sendRawTransaction; `mine()` stamps the next block with a fixed timestamp, mines
it, and checks that it holds exactly the queued transactions, in order, with the expected status.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

import rlp
from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from timemachine.catalog.devnet import (
    ACTORS,
    DEVNET_ANVIL_ARGS,
    DEVNET_CHAIN_ID,
    actor_account,
    actor_address,
    block_timestamp,
)
from timemachine.chain.rpc import RpcClient
from timemachine.errors import DevnetBuildError, RpcError
from timemachine.trace.balances import BALANCE_OF as _BALANCE_OF

GWEI = 10**9
ETHER = 10**18
MAX_FEE_PER_GAS = 20 * GWEI
MAX_PRIORITY_FEE_PER_GAS = 1 * GWEI
CALL_GAS = 250_000
DEPLOY_GAS = 3_000_000

_FLAGS_HINT = f"start a fresh anvil with: anvil --port PORT {shlex.join(DEVNET_ANVIL_ARGS)}"


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from `sender` at `nonce` deploys to."""
    encoded = rlp.encode([bytes.fromhex(sender[2:]), nonce])
    return to_checksum_address(keccak(encoded)[12:])


@dataclass(frozen=True)
class QueuedTx:
    """A transaction sent to the pool and not yet mined."""

    hash: str
    sender: str
    what: str
    expect_revert: bool


@dataclass(frozen=True)
class MinedBlock:
    """A block the builder mined, with its receipts in transaction order."""

    number: int
    timestamp: int
    tx_hashes: tuple[str, ...]
    receipts: tuple[dict[str, Any], ...]

    def receipt(self, tx_hash: str) -> dict[str, Any]:
        """The receipt of `tx_hash` (which must be in this block)."""
        return self.receipts[self.tx_hashes.index(tx_hash)]

    def fee(self, tx_hash: str) -> int:
        """The wei `tx_hash` (in this block) paid for gas: gas used times effective gas price."""
        receipt = self.receipt(tx_hash)
        return int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)


@dataclass
class ChainBuilder:
    """Sends and mines transactions on a fresh devnet anvil, one deterministic block at a time."""

    rpc: RpcClient
    block_number: int = 0
    sent: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    _nonces: dict[str, int] = field(default_factory=dict)
    _queue: list[QueuedTx] = field(default_factory=list)

    async def open(self) -> None:
        """Check the node is a fresh devnet with manual mining; raise DevnetBuildError if not."""
        chain_id, head, automine = await self.rpc.batch(
            [("eth_chainId", []), ("eth_blockNumber", []), ("anvil_getAutomine", [])]
        )
        if int(chain_id, 16) != DEVNET_CHAIN_ID:
            raise DevnetBuildError(
                f"chain id is {int(chain_id, 16)}, not {DEVNET_CHAIN_ID}; {_FLAGS_HINT}"
            )
        if int(head, 16) != 0:
            raise DevnetBuildError(
                f"the devnet already has {int(head, 16)} blocks; the history needs a fresh anvil "
                f"({_FLAGS_HINT})"
            )
        if automine:
            raise DevnetBuildError(f"anvil is automining; {_FLAGS_HINT}")
        self.block_number = 0
        for name in ACTORS:
            self.labels.setdefault(actor_address(name), name)

    def label(self, address: str, name: str) -> None:
        """Name `address` in the history's labels."""
        self.labels[to_checksum_address(address)] = name

    def next_nonce(self, sender: str) -> int:
        """The nonce the next transaction of actor `sender` will use."""
        return self._nonces.get(sender, 0)

    async def send(
        self,
        sender: str,
        to: str | None,
        data: bytes = b"",
        *,
        value: int = 0,
        gas: int = CALL_GAS,
        what: str = "",
        expect_revert: bool = False,
    ) -> str:
        """Sign and queue a transaction from actor `sender`; return its hash."""
        nonce = self.next_nonce(sender)
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": DEVNET_CHAIN_ID,
            "nonce": nonce,
            "to": to or b"",
            "value": value,
            "data": data,
            "gas": gas,
            "maxFeePerGas": MAX_FEE_PER_GAS,
            "maxPriorityFeePerGas": MAX_PRIORITY_FEE_PER_GAS,
            "accessList": [],
        }
        signed = actor_account(sender).sign_transaction(tx)
        raw = "0x" + bytes(signed.raw_transaction).hex()
        local_hash = "0x" + bytes(signed.hash).hex()
        label = what or f"{sender} nonce {nonce}"
        try:
            node_hash = await self.rpc.call("eth_sendRawTransaction", [raw])
        except RpcError as exc:
            raise DevnetBuildError(f"anvil rejected {label}: {exc}") from exc
        if str(node_hash).lower() != local_hash:
            raise DevnetBuildError(f"anvil hashed {label} as {node_hash}, expected {local_hash}")
        self._nonces[sender] = nonce + 1
        self.sent += 1
        self._queue.append(QueuedTx(local_hash, sender, label, expect_revert))
        return local_hash

    async def deploy(
        self, sender: str, init_code: bytes, *, name: str, gas: int = DEPLOY_GAS
    ) -> str:
        """Queue a contract creation; return (and label) the address it will have."""
        address = create_address(actor_address(sender), self.next_nonce(sender))
        await self.send(sender, None, init_code, gas=gas, what=f"deploy {name}")
        self.label(address, name)
        return address

    async def mine(self) -> MinedBlock:
        """Mine the queued transactions into the next block and verify the result."""
        number = self.block_number + 1
        timestamp = block_timestamp(number)
        queued, self._queue = self._queue, []
        await self.rpc.call("evm_setNextBlockTimestamp", [timestamp])
        await self.rpc.call("evm_mine", [])
        block = await self.rpc.call("eth_getBlockByNumber", [hex(number), False])
        hashes = tuple(tx.hash for tx in queued)
        mined = tuple(str(h).lower() for h in (block or {}).get("transactions", []))
        if block is None or mined != hashes or int(block["timestamp"], 16) != timestamp:
            raise DevnetBuildError(
                f"block {number} does not hold the {len(hashes)} queued transactions in order "
                f"at timestamp {timestamp}; {_FLAGS_HINT}"
            )
        receipts = tuple(await self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes]))
        for tx, receipt in zip(queued, receipts, strict=True):
            succeeded = int(receipt["status"], 16) == 1
            if succeeded == tx.expect_revert:
                outcome = "succeeded" if succeeded else "reverted"
                raise DevnetBuildError(
                    f"{tx.what} ({tx.hash}) unexpectedly {outcome} in block {number} "
                    f"(gas used {int(receipt['gasUsed'], 16)})"
                )
        self.block_number = number
        return MinedBlock(number, timestamp, hashes, receipts)

    async def balance(self, address: str, block: int | None = None) -> int:
        """The ETH balance of `address` at `block` (default: the last mined block)."""
        at = self.block_number if block is None else block
        return int(await self.rpc.call("eth_getBalance", [address, hex(at)]), 16)

    async def token_balance(self, token: str, holder: str, block: int | None = None) -> int:
        """`holder`'s balance of ERC-20 `token` at `block` (default: the last mined block)."""
        at = self.block_number if block is None else block
        data = _BALANCE_OF + abi_encode(["address"], [holder]).hex()
        result = await self.rpc.call("eth_call", [{"to": token, "data": data}, hex(at)])
        return int(result, 16)
