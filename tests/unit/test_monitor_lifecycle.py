"""Lifecycle: inclusion, replacement (speed-up, cancel), drops, reorgs."""

from __future__ import annotations

from tests.unit.monitor_records import GWEI, SENDER, record
from timemachine.chain.tracker import BlockRef, ChainReorged
from timemachine.monitor.lifecycle import IncludedTx, Lifecycle


def block(number: int, tag: str = "a") -> BlockRef:
    return BlockRef(number, f"0x{tag}{number:063x}", f"0x{tag}{number - 1:063x}")


def included(tx_hash: str, nonce: int, position: int = 0) -> IncludedTx:
    return IncludedTx(tx_hash, SENDER, nonce, position)


def test_inclusion_sets_block_position_and_latency() -> None:
    lifecycle = Lifecycle(clock=lambda: 100.0)
    tx = record(1, seen=90.0)
    assert lifecycle.admit(tx) == []
    transitions = lifecycle.on_block(block(5), [included(tx.tx.hash, 1, 3)], seen_at=102.5)
    assert transitions == [(tx, "tx_included")]
    assert (tx.status, tx.block_number, tx.position, tx.inclusion_latency) == (
        "included",
        5,
        3,
        12.5,
    )
    assert lifecycle.pending == {}


def test_speed_up_and_cancel_replace_the_pending_transaction() -> None:
    lifecycle = Lifecycle(clock=lambda: 1.0)
    slow = record(1)
    fast = record(1, hash="0x" + "f1" * 32, maxFeePerGas=hex(60 * GWEI))
    lifecycle.admit(slow)
    assert lifecycle.admit(fast) == [(slow, "tx_replaced")]
    assert (slow.status, slow.replaced_by, slow.replacement) == (
        "replaced",
        fast.tx.hash,
        "speed_up",
    )

    doomed = record(2)
    cancel = record(2, hash="0x" + "c2" * 32, to=SENDER, value="0x0", maxFeePerGas=hex(90 * GWEI))
    lifecycle.admit(doomed)
    lifecycle.admit(cancel)
    assert (doomed.status, doomed.replacement) == ("replaced", "cancel")

    other = record(3)
    lifecycle.admit(other)
    lifecycle.admit(record(3, hash="0x" + "d3" * 32, value=hex(5)))
    assert other.replacement == "other"


def test_a_block_including_another_tx_of_the_slot_replaces_the_pending_one() -> None:
    lifecycle = Lifecycle()
    pending = record(4)
    lifecycle.admit(pending)
    lifecycle.on_block(block(7), [included("0x" + "99" * 32, 4)])
    assert (pending.status, pending.replaced_by) == ("replaced", "0x" + "99" * 32)


def test_dropped_after_missing_from_every_pool_for_n_heads() -> None:
    lifecycle = Lifecycle(drop_after=2)
    kept, lost = record(1), record(2)
    lifecycle.admit(kept)
    lifecycle.admit(lost)
    assert lifecycle.on_pool({kept.tx.hash}) == []
    assert lifecycle.on_pool({kept.tx.hash, lost.tx.hash}) == []  # back: the count restarts
    assert lifecycle.on_pool({kept.tx.hash}) == []
    assert lifecycle.on_pool({kept.tx.hash}) == [(lost, "tx_dropped")]
    assert (kept.status, lost.status) == ("pending", "dropped")


def test_reorged_out_then_included_again() -> None:
    lifecycle = Lifecycle()
    tx = record(1)
    lifecycle.admit(tx)
    old = block(8, "a")
    lifecycle.on_block(old, [included(tx.tx.hash, 1)])
    ancestor = block(7, "a")
    event = ChainReorged("test", ancestor, (old,), (block(8, "b"),))
    assert lifecycle.on_reorg(event) == [(tx, "tx_reorged")]
    assert (tx.status, tx.block_number, tx.reorged) == ("pending", None, 1)
    assert lifecycle.on_block(block(9, "b"), [included(tx.tx.hash, 1, 2)]) == [(tx, "tx_included")]
    assert (tx.status, tx.block_number, tx.position, tx.reorged) == ("included", 9, 2, 1)


def test_a_settled_record_lets_go_of_the_nodes_object_a_pending_one_keeps_it() -> None:
    lifecycle = Lifecycle(clock=lambda: 1.0)
    mined, waiting = record(1), record(2)
    lifecycle.admit(mined)
    lifecycle.admit(waiting)
    assert mined.tx.raw["nonce"] == "0x1"
    lifecycle.on_block(block(5), [included(mined.tx.hash, 1)])
    assert (mined.status, mined.tx.raw, mined.tx.nonce) == ("included", {}, 1)
    assert waiting.tx.raw["nonce"] == "0x2"  # still needed to simulate it
