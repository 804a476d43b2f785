"""Lifecycle: pending → included (block, position, latency) / replaced (same sender and nonce:
speed-up or cancel) / dropped (gone from every provider's pool for N heads); an included
transaction whose block is reorged out goes back to pending and is included again when the new
branch carries it.

Pure bookkeeping over what the chain showed: no I/O. Each method returns the transitions it made
(`(record, event type)`), which the monitor stores and publishes."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from timemachine.chain.tracker import BlockRef, ChainReorged
from timemachine.hexutil import quantity
from timemachine.monitor.models import MonitoredTx, PendingTx, Replacement

Transition = tuple[MonitoredTx, str]
Slot = tuple[str, int]
"""(sender, nonce): at most one transaction of a slot is ever included."""
BLOCK_WINDOW = 256
"""Blocks whose monitored transactions are remembered, to take them out again on a reorg (the
tracker's own window)."""
SETTLED_LIMIT = 16_384
"""Settled records kept in memory to follow reorgs and late replacements (64 blocks of ~250
monitored txs); the store keeps all."""


@dataclass(frozen=True)
class IncludedTx:
    """A transaction of a canonical block, as the block lists it."""

    hash: str
    sender: str
    nonce: int
    position: int

    @classmethod
    def of(cls, tx: Mapping[str, Any], position: int) -> IncludedTx | None:
        tx_hash, sender, nonce = tx.get("hash"), tx.get("from"), quantity(tx.get("nonce"))
        if not isinstance(tx_hash, str) or not isinstance(sender, str) or nonce is None:
            return None
        return cls(tx_hash.lower(), sender.lower(), nonce, position)


def replacement_kind(old: PendingTx, new: PendingTx) -> Replacement:
    """`cancel`: the new tx does nothing (no calldata, no value, to the sender itself);
    `speed_up`: the same call, value and target, paying more; else `other`."""
    if new.input in ("0x", "") and new.value == 0 and new.to in (new.sender, None):
        return "cancel"
    same = (old.to, old.value, old.input) == (new.to, new.value, new.input)
    return "speed_up" if same and new.fee_cap > old.fee_cap else "other"


class Lifecycle:
    """The state of every transaction the monitor follows on one chain."""

    def __init__(self, *, drop_after: int = 3, clock: Any = time.time) -> None:
        self.drop_after = drop_after
        self.clock = clock
        self.pending: dict[str, MonitoredTx] = {}
        self.settled: OrderedDict[str, MonitoredTx] = OrderedDict()
        self._slots: dict[Slot, set[str]] = {}
        self._missing: dict[str, int] = {}
        self._by_block: dict[str, list[str]] = {}
        """Each recent block's monitored transactions (to put them back on a reorg)."""
        self._block_hashes = 0

    def get(self, tx_hash: str) -> MonitoredTx | None:
        return self.pending.get(tx_hash) or self.settled.get(tx_hash)

    def admit(self, record: MonitoredTx) -> list[Transition]:
        """Follow a newly seen transaction; pending ones of the same slot are replaced by it."""
        tx = record.tx
        record.updated_at = self.clock()
        self.pending[tx.hash] = record
        slot = (tx.sender, tx.nonce)
        others = self._slots.setdefault(slot, set())
        transitions = [
            self._replace(self.pending[other], tx)
            for other in sorted(others)
            if other in self.pending
        ]
        others.add(tx.hash)
        return transitions

    def on_block(
        self, block: BlockRef, txs: Iterable[IncludedTx], *, seen_at: float | None = None
    ) -> list[Transition]:
        """A canonical block: its known transactions are included, and pending ones sharing a
        slot with any of its transactions are replaced."""
        now = self.clock() if seen_at is None else seen_at
        transitions: list[Transition] = []
        hashes: list[str] = []
        for included in txs:
            record = self.pending.pop(included.hash, None) or self.settled.pop(included.hash, None)
            self._missing.pop(included.hash, None)
            if record is not None:
                hashes.append(included.hash)
                record.status = "included"
                record.block_number, record.block_hash = block.number, block.hash
                record.position = included.position
                record.inclusion_latency = max(0.0, now - record.seen_at)
                record.replaced_by = record.replacement = None
                record.updated_at = now
                self._settle(record)
                transitions.append((record, "tx_included"))
            for other in sorted(self._slots.pop((included.sender, included.nonce), set())):
                pending = self.pending.get(other)
                if other != included.hash and pending is not None:
                    successor = record.tx if record is not None else None
                    transitions.append(self._replace(pending, successor, by=included.hash))
        self._by_block[block.hash] = hashes
        self._block_hashes += len(hashes)
        # a reorg can only bring back what is still settled: remember no more than that
        while len(self._by_block) > BLOCK_WINDOW or self._block_hashes > SETTLED_LIMIT:
            self._block_hashes -= len(self._by_block.pop(next(iter(self._by_block))))
        return transitions

    def on_reorg(self, event: ChainReorged) -> list[Transition]:
        """Transactions of the replaced blocks go back to pending (the new branch's blocks, seen
        next, include them again where they are)."""
        transitions: list[Transition] = []
        for block in event.old:
            reorged = self._by_block.pop(block.hash, [])
            self._block_hashes -= len(reorged)
            for tx_hash in reorged:
                record = self.settled.pop(tx_hash, None)
                if record is None or record.status != "included":
                    continue
                record.status = "pending"
                record.block_number = record.block_hash = record.position = None
                record.inclusion_latency = None
                record.reorged += 1
                record.updated_at = self.clock()
                self.pending[tx_hash] = record
                self._missing.pop(tx_hash, None)
                self._slots.setdefault((record.tx.sender, record.tx.nonce), set()).add(tx_hash)
                transitions.append((record, "tx_reorged"))
        return transitions

    def on_pool(self, present: set[str]) -> list[Transition]:
        """After a head: `present` holds the hashes some provider still has pending; the others
        count one more head missing, and are dropped after `drop_after` heads."""
        transitions: list[Transition] = []
        for tx_hash, record in list(self.pending.items()):
            if tx_hash in present:
                self._missing.pop(tx_hash, None)
                continue
            missing = self._missing.get(tx_hash, 0) + 1
            self._missing[tx_hash] = missing
            if missing >= self.drop_after:
                del self.pending[tx_hash]
                self._missing.pop(tx_hash, None)
                record.status = "dropped"
                record.updated_at = self.clock()
                self._settle(record)
                transitions.append((record, "tx_dropped"))
        return transitions

    def _replace(
        self, record: MonitoredTx, successor: PendingTx | None, *, by: str | None = None
    ) -> Transition:
        self.pending.pop(record.tx.hash, None)
        self._missing.pop(record.tx.hash, None)
        record.status = "replaced"
        record.replaced_by = by or (successor.hash if successor is not None else None)
        record.replacement = (
            replacement_kind(record.tx, successor) if successor is not None else "other"
        )
        record.updated_at = self.clock()
        self._settle(record)
        return record, "tx_replaced"

    def _settle(self, record: MonitoredTx) -> None:
        if record.tx.raw:  # the node's object is only needed to simulate a pending tx
            record.tx = record.tx.model_copy(update={"raw": {}})
        self.settled[record.tx.hash] = record
        self.settled.move_to_end(record.tx.hash)
        while len(self.settled) > SETTLED_LIMIT:
            old_hash, old = self.settled.popitem(last=False)
            key = (old.tx.sender, old.tx.nonce)
            slot = self._slots.get(key)
            if slot is not None:
                slot.discard(old_hash)
                if not slot:
                    del self._slots[key]
