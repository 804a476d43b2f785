"""Around replay results: notes on the block's earlier transactions, and sequence checks."""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.chain.blocks import quantity
from timemachine.errors import InvalidInputError
from timemachine.replay.block import ExecutedBlock
from timemachine.replay.source import OriginalTx


def preceding_notes(original: OriginalTx, executed: ExecutedBlock, count: int) -> list[str]:
    """Notes on earlier transactions that were rejected or behaved differently in the replay."""
    notes: list[str] = []
    if not count or original.block_receipts is None:
        return notes
    for position in range(count):
        ours, theirs = executed.receipts[position], original.block_receipts[position]
        if not ours:
            notes.append(f"earlier tx #{position} could not be replayed (the engine rejected it)")
        elif (quantity(ours["status"]), quantity(ours["gasUsed"])) != (
            quantity(theirs["status"]),
            quantity(theirs["gasUsed"]),
        ):
            notes.append(
                f"earlier tx #{position} ({theirs['transactionHash']}) diverged: status/gas "
                f"{quantity(theirs['status'])}/{quantity(theirs['gasUsed'])} originally, "
                f"{quantity(ours['status'])}/{quantity(ours['gasUsed'])} replayed"
            )
    return notes


def check_chain_order(originals: Sequence[OriginalTx]) -> None:
    positions = [(o.block_number, o.index) for o in originals]
    if positions != sorted(positions) or len(set(positions)) != len(positions):
        raise InvalidInputError(
            "list the transactions once each, in chain order (block, then index in block)"
        )
    chains = {o.chain_id for o in originals}
    if len(chains) > 1:
        raise InvalidInputError(f"the transactions come from several chains: {sorted(chains)}")


def group_by_block(originals: Sequence[OriginalTx]) -> list[list[OriginalTx]]:
    groups: list[list[OriginalTx]] = []
    for original in originals:
        if groups and groups[-1][0].block_number == original.block_number:
            groups[-1].append(original)
        else:
            groups.append([original])
    return groups
