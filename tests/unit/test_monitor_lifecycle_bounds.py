"""The lifecycle's memory stays bounded under a long stream (the soak's growth): a block
remembers only its monitored transactions, no more of them than are still settled, and a slot
whose transactions are all forgotten is forgotten too; reorgs still work on what is kept."""

from __future__ import annotations

import pytest

from tests.unit.monitor_records import record
from tests.unit.test_monitor_lifecycle import block
from timemachine.chain.tracker import ChainReorged
from timemachine.monitor import lifecycle as lifecycle_module
from timemachine.monitor.lifecycle import IncludedTx, Lifecycle

LIMIT = 6


def test_blocks_remember_at_most_what_is_settled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle_module, "SETTLED_LIMIT", LIMIT)
    lifecycle = Lifecycle(clock=lambda: 100.0)
    records = [record(n) for n in range(1, 13)]
    for number in range(4):  # 4 blocks of 3 monitored txs and one unknown tx each
        batch = records[3 * number : 3 * number + 3]
        for each in batch:
            lifecycle.admit(each)
        txs = [IncludedTx(r.tx.hash, r.tx.sender, r.tx.nonce, p) for p, r in enumerate(batch)]
        txs.append(IncludedTx("0x" + "ee" * 32, "0x" + "ef" * 20, number, 3))
        lifecycle.on_block(block(10 + number), txs)
    remembered = lifecycle._by_block  # the two newest blocks: 6 settled txs
    assert list(remembered) == [block(12).hash, block(13).hash]
    assert sum(map(len, remembered.values())) == LIMIT
    assert len(lifecycle.settled) == LIMIT
    newest = ChainReorged("test", block(12), (block(13),), (block(13, "b"),))
    back = lifecycle.on_reorg(newest)
    assert [(r.tx.hash, event) for r, event in back] == [
        (r.tx.hash, "tx_reorged") for r in records[9:]
    ]
    assert list(lifecycle._by_block) == [block(12).hash]


def test_a_forgotten_slot_is_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle_module, "SETTLED_LIMIT", 1)
    lifecycle = Lifecycle(clock=lambda: 100.0)
    first, second, third = (record(1, hash="0x" + tag * 32) for tag in ("a1", "a2", "a3"))
    for each in (first, second, third):  # each replaces the one before
        lifecycle.admit(each)
    slot = (first.tx.sender, first.tx.nonce)
    assert lifecycle._slots[slot] == {second.tx.hash, third.tx.hash}  # first forgotten
    for _ in range(3):
        lifecycle.on_pool(set())  # third dropped: second forgotten
    assert lifecycle._slots[slot] == {third.tx.hash}
    lifecycle.admit(record(2))
    for _ in range(3):
        lifecycle.on_pool(set())  # another tx dropped: third forgotten, and its slot
    assert [r.status for r in (first, second, third)] == ["replaced", "replaced", "dropped"]
    assert slot not in lifecycle._slots
