"""Find transactions by scanning blocks over JSON-RPC: every tx of a block range, or only those
from or to one address. Blocks are fetched with full transactions in batched
`eth_getBlockByNumber` requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_utils.address import is_hex_address

from timemachine.chain.blocks import quantity
from timemachine.chain.registry import create_address
from timemachine.chain.rpc import RpcClient
from timemachine.errors import BlockNotFoundError, InvalidInputError

SCAN_BATCH = 50  # blocks per batched request
MAX_SCAN_BLOCKS = 100_000


@dataclass(frozen=True)
class ScannedTx:
    """A transaction found by a scan."""

    hash: str
    block: int
    index: int
    sender: str
    to: str | None

    def as_row(self) -> dict[str, object]:
        return {
            "hash": self.hash,
            "block": self.block,
            "index": self.index,
            "from": self.sender,
            "to": self.to,
        }


def parse_block_range(text: str) -> tuple[int, int]:
    """`A:B` (inclusive; decimal or 0x hex) or a single block `A`."""
    first, separator, last = text.strip().partition(":")
    try:
        start = _number(first)
        end = _number(last) if separator else start
    except ValueError:
        raise InvalidInputError(
            f"--blocks {text!r} is not a block range; write A:B (inclusive), e.g. 100:120"
        ) from None
    if start < 0 or end < start:
        raise InvalidInputError(
            f"--blocks {text!r}: the range must satisfy 0 <= A <= B (got {start}:{end})"
        )
    if end - start + 1 > MAX_SCAN_BLOCKS:
        raise InvalidInputError(
            f"--blocks {text!r} spans {end - start + 1:,} blocks; scan at most "
            f"{MAX_SCAN_BLOCKS:,} at a time"
        )
    return start, end


def _number(text: str) -> int:
    text = text.strip().replace("_", "")
    return int(text, 16) if text.lower().startswith("0x") else int(text, 10)


async def scan_blocks(
    rpc: RpcClient,
    start: int,
    end: int,
    *,
    address: str | None = None,
    batch: int = SCAN_BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> list[ScannedTx]:
    """Transactions of blocks `start..end` (inclusive), in chain order; with `address`, only those
    sent from it or to it (or creating it)."""
    wanted: str | None = None
    if address is not None:
        if not is_hex_address(address.strip()):
            raise InvalidInputError(f"--address {address!r} is not a 20-byte hex address")
        wanted = address.strip().lower()
    found: list[ScannedTx] = []
    total = end - start + 1
    for first in range(start, end + 1, batch):
        numbers = range(first, min(first + batch, end + 1))
        blocks = await rpc.batch([("eth_getBlockByNumber", [hex(n), True]) for n in numbers])
        for number, block in zip(numbers, blocks, strict=True):
            if block is None:
                head = quantity(await rpc.call("eth_blockNumber"))
                raise BlockNotFoundError(
                    f"block {number} does not exist on {rpc.label} (head is {head}); "
                    "scan a range up to the head"
                )
            for tx in block["transactions"]:
                scanned = ScannedTx(
                    hash=str(tx["hash"]).lower(),
                    block=number,
                    index=quantity(tx["transactionIndex"]),
                    sender=str(tx["from"]).lower(),
                    to=str(tx["to"]).lower() if tx.get("to") else None,
                )
                if wanted is None or wanted in (
                    scanned.sender,
                    scanned.to,
                    _created(tx),
                ):
                    found.append(scanned)
        if progress is not None:
            progress(numbers[-1] - start + 1, total)
    return found


def _created(tx: dict[str, object]) -> str | None:
    """The contract a creation tx deploys (from its sender and nonce), else None."""
    if tx.get("to"):
        return None
    return create_address(str(tx["from"]), quantity(str(tx["nonce"]))).lower()
