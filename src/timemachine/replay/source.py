"""Fetch what a replay needs from the upstream in as few round trips as possible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from timemachine.chain.blocks import parse_transaction, quantity
from timemachine.errors import (
    BlockNotFoundError,
    DebugApiUnavailableError,
    InvalidInputError,
    MethodUnavailableError,
    ReplayError,
    RpcBadResponseError,
    RpcError,
    TransactionNotFoundError,
)
from timemachine.models import TransactionInfo
from timemachine.ports import ChainRPC
from timemachine.replay.prefetch import PRESTATE_TRACER


@dataclass(frozen=True)
class OriginalTx:
    """A mined transaction with its receipt, its block and (exact mode) the block's receipts."""

    chain_id: int
    tx: dict[str, Any]
    info: TransactionInfo
    receipt: dict[str, Any]
    block: dict[str, Any]
    block_receipts: list[dict[str, Any]] | None
    block_prestate: list[dict[str, Any]] | None = None
    prestate_unsupported: bool = False
    parent_block: dict[str, Any] | None = None
    """The parent block with its transactions (what a fork at the parent reads first), when
    fetched with the block."""

    @property
    def block_number(self) -> int:
        return quantity(self.block["number"])

    @property
    def index(self) -> int:
        return quantity(self.tx["transactionIndex"])

    def preceding(self) -> list[dict[str, Any]]:
        """The block's transactions before this one (needs a block fetched with full txs)."""
        return [tx for tx in self.block["transactions"][: self.index] if isinstance(tx, dict)]

    def earlier(self, position: int) -> OriginalTx:
        """The block's transaction at `position` (before this one), with its receipt."""
        tx = self.preceding()[position]
        receipts = self.block_receipts or []
        return OriginalTx(
            chain_id=self.chain_id,
            tx=tx,
            info=parse_transaction(tx),
            receipt=receipts[position],
            block=self.block,
            block_receipts=receipts,
        )


def json_object(rpc: ChainRPC, method: str, answer: Any) -> dict[str, Any]:
    """`answer` if it is a JSON object (a tx, block or receipt); else a one-line RPC error."""
    if not isinstance(answer, dict):
        shown = repr(answer)
        shown = shown if len(shown) <= 40 else shown[:40] + "…"
        raise RpcBadResponseError(
            f"{rpc.label} answered {method} with {shown}, not an object; is it a JSON-RPC node "
            "of an EVM chain?"
        )
    return answer


@dataclass(frozen=True)
class MinedTx:
    """Round one: the transaction, its receipt when asked for, and the chain id."""

    tx: dict[str, Any]
    receipt: dict[str, Any] | None
    chain_id: int


async def fetch_transaction(
    rpc: ChainRPC, tx_hash: str, *, with_receipt: bool, chain_id: int | None = None
) -> MinedTx:
    """The tx (with its receipt if asked, and the chain id unless known) in one round trip."""
    calls: list[tuple[str, list[Any]]] = [("eth_getTransactionByHash", [tx_hash])]
    if with_receipt:
        calls.append(("eth_getTransactionReceipt", [tx_hash]))
    if chain_id is None:
        calls.append(("eth_chainId", []))
    answers = await rpc.batch(calls)
    if answers[0] is None:
        raise TransactionNotFoundError(
            f"transaction {tx_hash} is unknown to {rpc.label}; check the hash and that the RPC "
            "serves the chain it was mined on"
        )
    tx = json_object(rpc, "eth_getTransactionByHash", answers[0])
    if tx.get("blockNumber") is None:
        raise ReplayError(f"transaction {tx_hash} is still pending; replay it once it is mined")
    return MinedTx(
        tx=tx,
        receipt=answers[1] if with_receipt else None,
        chain_id=chain_id if chain_id is not None else quantity(answers[-1]),
    )


async def fetch_block_context(
    rpc: ChainRPC,
    mined: MinedTx,
    *,
    full_block: bool,
    prestate: bool = False,
    with_parent: bool = False,
) -> OriginalTx:
    """Round two: the tx's block (full with receipts in exact mode, and with `prestate` the
    upstream's prestate trace of the block, or None where the node has no debug API), and with
    `with_parent` the parent block, all in one batch."""
    tx = mined.tx
    number = tx["blockNumber"]
    calls: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", [number, full_block])]
    if full_block:
        calls.append(("eth_getBlockReceipts", [number]))
    if prestate:
        calls.append(("debug_traceBlockByNumber", [number, PRESTATE_TRACER]))
    if with_parent:
        calls.append(("eth_getBlockByNumber", [hex(quantity(number) - 1), True]))
    block, *rest = await rpc.batch_settled(calls)
    if isinstance(block, RpcError):
        raise block
    if block is None:
        raise BlockNotFoundError(f"{rpc.label} does not return block {quantity(number)}")
    block = json_object(rpc, "eth_getBlockByNumber", block)
    parent = rest.pop() if with_parent else None
    block_receipts = await _block_receipts(rpc, block, rest[0]) if full_block else None
    receipt = mined.receipt
    if block_receipts is not None:
        receipt = block_receipts[quantity(tx["transactionIndex"])]
    if receipt is None:
        raise ReplayError(f"{rpc.label} has no receipt for {tx['hash']} yet; retry shortly")
    traces = rest[-1] if prestate else None
    return OriginalTx(
        chain_id=mined.chain_id,
        tx=tx,
        info=parse_transaction(tx),
        receipt=receipt,
        block=block,
        block_receipts=block_receipts,
        block_prestate=traces if isinstance(traces, list) else None,
        prestate_unsupported=isinstance(traces, DebugApiUnavailableError),
        parent_block=parent if isinstance(parent, dict) else None,
    )


async def fetch_original(
    rpc: ChainRPC, tx_hash: str, *, full_block: bool, chain_id: int | None = None
) -> OriginalTx:
    """Both round trips, for callers that need no overlap with the fork start."""
    mined = await fetch_transaction(rpc, tx_hash, with_receipt=not full_block, chain_id=chain_id)
    return await fetch_block_context(rpc, mined, full_block=full_block)


async def _block_receipts(
    rpc: ChainRPC, block: dict[str, Any], answer: Any
) -> list[dict[str, Any]]:
    """eth_getBlockReceipts' answer, or per-tx receipts where the node lacks that method."""
    if isinstance(answer, MethodUnavailableError):
        hashes = [tx["hash"] for tx in block["transactions"]]
        return list(await rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes]))
    if isinstance(answer, RpcError):
        raise answer
    return list(answer)


async def fetch_block(rpc: ChainRPC, number: int | None) -> dict[str, Any]:
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
    return dict(json_object(rpc, "eth_getBlockByNumber", block))
