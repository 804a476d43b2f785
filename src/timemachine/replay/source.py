"""Fetch what a replay needs from the upstream in as few round trips as possible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from timemachine.chain.blocks import parse_transaction, quantity
from timemachine.chain.rpc import RpcClient
from timemachine.errors import (
    BlockNotFoundError,
    InvalidInputError,
    MethodUnavailableError,
    ReplayError,
    RpcError,
    TransactionNotFoundError,
)
from timemachine.models import TransactionInfo


@dataclass(frozen=True)
class OriginalTx:
    """A mined transaction with its receipt, its block and (exact mode) the block's receipts."""

    chain_id: int
    tx: dict[str, Any]
    info: TransactionInfo
    receipt: dict[str, Any]
    block: dict[str, Any]
    block_receipts: list[dict[str, Any]] | None

    @property
    def block_number(self) -> int:
        return quantity(self.block["number"])

    @property
    def index(self) -> int:
        return quantity(self.tx["transactionIndex"])

    def preceding(self) -> list[dict[str, Any]]:
        """The block's transactions before this one (needs a block fetched with full txs)."""
        return [tx for tx in self.block["transactions"][: self.index] if isinstance(tx, dict)]


async def fetch_original(
    rpc: RpcClient, tx_hash: str, *, full_block: bool, chain_id: int | None = None
) -> OriginalTx:
    """Two round trips: the tx (and, unless known, the chain id), then its block with receipts.

    With `full_block` the block's receipts (one eth_getBlockReceipts call) also give the target's
    receipt; otherwise the target's receipt rides along in the first round trip.
    """
    calls: list[tuple[str, list[Any]]] = [("eth_getTransactionByHash", [tx_hash])]
    if not full_block:
        calls.append(("eth_getTransactionReceipt", [tx_hash]))
    if chain_id is None:
        calls.append(("eth_chainId", []))
    answers = await rpc.batch(calls)
    tx = answers[0]
    if chain_id is None:
        chain_id = quantity(answers[-1])
    if tx is None:
        raise TransactionNotFoundError(
            f"transaction {tx_hash} is unknown to {rpc.label}; check the hash and that the RPC "
            "serves the chain it was mined on"
        )
    if tx.get("blockNumber") is None:
        raise ReplayError(f"transaction {tx_hash} is still pending; replay it once it is mined")
    number = tx["blockNumber"]
    second: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", [number, full_block])]
    if full_block:
        second.append(("eth_getBlockReceipts", [number]))
    block, *rest = await rpc.batch_settled(second)
    if isinstance(block, RpcError):
        raise block
    if block is None:
        raise BlockNotFoundError(f"{rpc.label} does not return block {quantity(number)}")
    if full_block:
        block_receipts = await _block_receipts(rpc, block, rest[0])
        receipt = block_receipts[quantity(tx["transactionIndex"])]
    else:
        block_receipts, receipt = None, answers[1]
    if receipt is None:
        raise ReplayError(f"{rpc.label} has no receipt for {tx_hash} yet; retry shortly")
    return OriginalTx(
        chain_id=chain_id,
        tx=tx,
        info=parse_transaction(tx),
        receipt=receipt,
        block=block,
        block_receipts=block_receipts,
    )


async def _block_receipts(
    rpc: RpcClient, block: dict[str, Any], answer: Any
) -> list[dict[str, Any]]:
    """eth_getBlockReceipts' answer, or per-tx receipts where the node lacks that method."""
    if isinstance(answer, MethodUnavailableError):
        hashes = [tx["hash"] for tx in block["transactions"]]
        return list(await rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes]))
    if isinstance(answer, RpcError):
        raise answer
    return list(answer)


async def fetch_block(rpc: RpcClient, number: int | None) -> dict[str, Any]:
    """A block header (latest when number is None), validating the number first."""
    if number is not None and number < 0:
        raise InvalidInputError(f"block {number} is before genesis; block numbers start at 0")
    tag = hex(number) if number is not None else "latest"
    block = await rpc.call("eth_getBlockByNumber", [tag, False])
    if block is None:
        head = quantity(await rpc.call("eth_blockNumber"))
        raise BlockNotFoundError(
            f"block {number} does not exist on {rpc.label} yet (head is {head})"
        )
    return dict(block)
