"""Replay building blocks without an engine: fidelity verdicts, block environment calls and notes,
eth_sendTransaction params, and the engine's pure helpers over real OriginalTx values."""

from __future__ import annotations

from typing import Any

import pytest

from timemachine.chain.blocks import parse_transaction
from timemachine.errors import InvalidInputError
from timemachine.models import BlockEnv, Difference, Fidelity, LogEntry, ReceiptSummary
from timemachine.replay.assemble import (
    check_chain_order,
    group_by_block,
    preceding_notes,
)
from timemachine.replay.block import ExecutedBlock, nonce_calls
from timemachine.replay.environment import env_calls, env_differences
from timemachine.replay.fidelity import compare_receipts
from timemachine.replay.source import OriginalTx
from timemachine.replay.submit import send_params

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
COINBASE = "0x95222290DD7278Aa3Ddd389Cc1E1d165CC4BAfe5"
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
APPROVAL = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"
RANDAO = "0x" + "5e" * 32


# --- fidelity ----------------------------------------------------------------------------------


def log(
    address: str = TOKEN, topics: tuple[str, ...] = (TRANSFER,), data: str = "0x01"
) -> LogEntry:
    return LogEntry(address=address, topics=list(topics), data=data)


def receipt(
    status: int = 1,
    gas_used: int = 51_000,
    logs: list[LogEntry] | None = None,
    contract_address: str | None = None,
) -> ReceiptSummary:
    return ReceiptSummary(
        status=status,
        gas_used=gas_used,
        logs=[log(), log(data="0x02")] if logs is None else logs,
        contract_address=contract_address,
    )


def test_identical_receipts_are_exact() -> None:
    notes = ["block prevrandao differs"]
    fidelity = compare_receipts(receipt(), receipt(), notes)
    assert fidelity == Fidelity(verdict="exact", differences=[], notes=notes, trace_compared=False)
    assert fidelity.notes is not notes


def test_status_flip() -> None:
    reverted = compare_receipts(receipt(), receipt(status=0))
    assert reverted.verdict == "diverged"
    assert reverted.differences == [
        Difference(
            field="status",
            original=1,
            replayed=0,
            explanation="the replay reverted but the original succeeded",
        )
    ]
    succeeded = compare_receipts(receipt(status=0), receipt(status=1))
    assert succeeded.differences[0].explanation == (
        "the replay succeeded but the original reverted"
    )


@pytest.mark.parametrize(
    ("replayed", "explanation"),
    [
        (53_100, "the replay used 2,100 more gas"),
        (50_900, "the replay used 100 less gas"),
        (1_051_000, "the replay used 1,000,000 more gas"),
    ],
)
def test_gas_delta_wording(replayed: int, explanation: str) -> None:
    fidelity = compare_receipts(receipt(gas_used=51_000), receipt(gas_used=replayed))
    assert fidelity.differences == [
        Difference(field="gas_used", original=51_000, replayed=replayed, explanation=explanation)
    ]


def test_created_contract_elsewhere() -> None:
    fidelity = compare_receipts(receipt(contract_address=TOKEN), receipt(contract_address=OTHER))
    assert fidelity.differences == [
        Difference(
            field="contract_address",
            original=TOKEN,
            replayed=OTHER,
            explanation="the created contract landed at another address",
        )
    ]


def test_log_count_mismatch_compares_the_common_prefix() -> None:
    original = receipt(logs=[log(), log(data="0x02"), log(data="0x03")])
    replayed = receipt(logs=[log(), log(data="0x99")])
    assert compare_receipts(original, replayed).differences == [
        Difference(
            field="logs.length",
            original=3,
            replayed=2,
            explanation="the original emitted 3 logs, the replay 2",
        ),
        Difference(
            field="logs[1].data",
            original="0x02",
            replayed="0x99",
            explanation="log 1 has a different data",
        ),
    ]


def test_per_log_field_differences() -> None:
    original = receipt(logs=[log(), log(), log()])
    replayed = receipt(
        logs=[
            log(),
            log(address=OTHER, topics=(APPROVAL,)),
            log(data="0x"),
        ]
    )
    differences = compare_receipts(original, replayed).differences
    assert [(d.field, d.original, d.replayed, d.explanation) for d in differences] == [
        ("logs[1].address", TOKEN, OTHER, "log 1 has a different address"),
        ("logs[1].topics", [TRANSFER], [APPROVAL], "log 1 has a different topics"),
        ("logs[2].data", "0x01", "0x", "log 2 has a different data"),
    ]


def test_every_difference_in_order() -> None:
    original = receipt(status=1, gas_used=60_000, logs=[log()])
    replayed = receipt(status=0, gas_used=23_000, logs=[])
    fidelity = compare_receipts(original, replayed)
    assert [d.field for d in fidelity.differences] == ["status", "gas_used", "logs.length"]
    assert fidelity.differences[1].explanation == "the replay used 37,000 less gas"


def test_trace_differences_join_the_verdict() -> None:
    compared = compare_receipts(receipt(), receipt(), trace_differences=[])
    assert (compared.verdict, compared.trace_compared) == ("exact", True)

    frame = Difference(
        field="trace.calls[0].gas_used", original=100, replayed=90, explanation="frame differs"
    )
    diverged = compare_receipts(receipt(), receipt(gas_used=51_001), trace_differences=[frame])
    assert diverged.verdict == "diverged"
    assert [d.field for d in diverged.differences] == ["gas_used", "trace.calls[0].gas_used"]


# --- block environment -------------------------------------------------------------------------

POST_LONDON = BlockEnv(
    number=19_000_000,
    timestamp=1_705_173_443,
    coinbase=COINBASE,
    gas_limit=30_000_000,
    base_fee=23_000_000_000,
    difficulty=0,
    prevrandao=RANDAO,
)
PRE_LONDON = BlockEnv(
    number=12_000_000,
    timestamp=1_617_181_200,
    coinbase=COINBASE,
    gas_limit=14_999_000,
    base_fee=None,
    difficulty=6_500_000_000_000_000,
    prevrandao="0x" + "3c" * 32,  # the proof-of-work mix hash
)


def test_env_calls_post_london() -> None:
    assert env_calls(POST_LONDON) == [
        ("anvil_setNextBlockTimestamp", [1_705_173_443]),
        ("anvil_setCoinbase", [COINBASE]),
        ("evm_setBlockGasLimit", ["0x1c9c380"]),
        ("anvil_setNextBlockBaseFeePerGas", ["0x55ae82600"]),
    ]


def test_env_calls_pre_london_sets_no_base_fee() -> None:
    assert env_calls(PRE_LONDON) == [
        ("anvil_setNextBlockTimestamp", [1_617_181_200]),
        ("anvil_setCoinbase", [COINBASE]),
        ("evm_setBlockGasLimit", ["0xe4ddd8"]),
    ]


def mined_like(env: BlockEnv, **fields: Any) -> dict[str, Any]:
    """A JSON-RPC block as anvil would mine it under `env`, with `fields` replaced."""
    block: dict[str, Any] = {
        "number": hex(env.number),
        "timestamp": hex(env.timestamp),
        "miner": env.coinbase.lower(),
        "gasLimit": hex(env.gas_limit),
        "difficulty": hex(env.difficulty),
        "mixHash": env.prevrandao,
    }
    if env.base_fee is not None:
        block["baseFeePerGas"] = hex(env.base_fee)
    block.update(fields)
    return block


def test_no_notes_when_the_environment_matches() -> None:
    assert env_differences(POST_LONDON, mined_like(POST_LONDON)) == []
    assert env_differences(PRE_LONDON, mined_like(PRE_LONDON)) == []


def test_prevrandao_note_after_the_merge() -> None:
    other = "0x" + "77" * 32
    assert env_differences(POST_LONDON, mined_like(POST_LONDON, mixHash=other)) == [
        f"block prevrandao differs (original {RANDAO}, replay {other}): the engine cannot set "
        "it; only code reading block.prevrandao is affected"
    ]


def test_difficulty_note_before_the_merge() -> None:
    mined = mined_like(PRE_LONDON, difficulty="0x0", mixHash="0x" + "00" * 32)
    assert env_differences(PRE_LONDON, mined) == [
        "block difficulty differs (original 6500000000000000, replay 0): the engine cannot set "
        "it; only code reading block.difficulty is affected"
    ]


def test_timestamp_and_base_fee_notes() -> None:
    mined = mined_like(POST_LONDON, timestamp=hex(1_705_173_455), baseFeePerGas="0x1")
    assert env_differences(POST_LONDON, mined) == [
        "block timestamp differs (original 1705173443, replay 1705173455): the engine ignored "
        "it; only code reading block.timestamp is affected",
        "block base_fee differs (original 23000000000, replay 1): the engine ignored it; "
        "only code reading block.basefee is affected",
    ]


def test_coinbase_compared_case_insensitively() -> None:
    mined = mined_like(POST_LONDON, miner=COINBASE.upper().replace("0X", "0x"))
    assert env_differences(POST_LONDON, mined) == []


# --- eth_sendTransaction params ----------------------------------------------------------------

MINED_FIELDS = {
    "hash": "0x" + "aa" * 32,
    "blockHash": "0x" + "bb" * 32,
    "blockNumber": "0x10",
    "transactionIndex": "0x1",
    "v": "0x1",
    "r": "0x2",
    "s": "0x3",
    "yParity": "0x1",
}


def tx(**fields: Any) -> dict[str, Any]:
    base = {
        **MINED_FIELDS,
        "from": ALICE.lower(),
        "to": BOB.lower(),
        "value": "0x0",
        "gas": "0x5208",
        "nonce": "0x4",
        "input": "0x",
        "chainId": "0x1",
    }
    base.update(fields)
    return base


COMMON = {
    "from": ALICE.lower(),
    "to": BOB.lower(),
    "value": "0x0",
    "gas": "0x5208",
    "nonce": "0x4",
    "input": "0x",
    "chainId": "0x1",
}


def test_legacy_keeps_gas_price_and_drops_1559_fees() -> None:
    params = send_params(
        tx(type="0x0", gasPrice="0x4a817c800", maxFeePerGas="0x1", maxPriorityFeePerGas="0x1")
    )
    assert params == {**COMMON, "type": "0x0", "gasPrice": "0x4a817c800"}


def test_access_list_tx_keeps_gas_price_and_access_list() -> None:
    access = [{"address": TOKEN.lower(), "storageKeys": ["0x" + "00" * 32]}]
    params = send_params(tx(type="0x1", gasPrice="0x3b9aca00", accessList=access))
    assert params == {**COMMON, "type": "0x1", "gasPrice": "0x3b9aca00", "accessList": access}


def test_dynamic_fee_drops_the_effective_gas_price() -> None:
    params = send_params(
        tx(
            type="0x2",
            gasPrice="0x5d21dba00",  # nodes report the effective price here
            maxFeePerGas="0x6fc23ac00",
            maxPriorityFeePerGas="0x3b9aca00",
            accessList=[],
        )
    )
    assert params == {
        **COMMON,
        "type": "0x2",
        "maxFeePerGas": "0x6fc23ac00",
        "maxPriorityFeePerGas": "0x3b9aca00",
        "accessList": [],
    }


def test_blob_and_set_code_fields_are_copied() -> None:
    hashes = ["0x01" + "ab" * 31]
    blob = send_params(
        tx(
            type="0x3",
            maxFeePerGas="0x2",
            maxPriorityFeePerGas="0x1",
            maxFeePerBlobGas="0x3",
            blobVersionedHashes=hashes,
        )
    )
    assert blob["maxFeePerBlobGas"] == "0x3"
    assert blob["blobVersionedHashes"] == hashes

    authorization = [
        {
            "chainId": "0x1",
            "address": OTHER.lower(),
            "nonce": "0x0",
            "yParity": "0x0",
            "r": "0x1",
            "s": "0x2",
        }
    ]
    set_code = send_params(
        tx(
            type="0x4",
            maxFeePerGas="0x2",
            maxPriorityFeePerGas="0x1",
            authorizationList=authorization,
        )
    )
    assert set_code == {
        **COMMON,
        "type": "0x4",
        "maxFeePerGas": "0x2",
        "maxPriorityFeePerGas": "0x1",
        "authorizationList": authorization,
    }


def test_data_is_the_fallback_for_input() -> None:
    legacy_node = tx(type="0x0", gasPrice="0x1", data="0xa9059cbb")
    del legacy_node["input"]
    assert send_params(legacy_node)["input"] == "0xa9059cbb"
    both = tx(type="0x0", gasPrice="0x1", input="0x01", data="0x02")
    assert send_params(both)["input"] == "0x01"


def test_contract_creation_has_no_to() -> None:
    params = send_params(tx(type="0x2", to=None, maxFeePerGas="0x2", maxPriorityFeePerGas="0x1"))
    assert "to" not in params


def test_untyped_tx_keeps_its_gas_price() -> None:
    untyped = tx(gasPrice="0x4a817c800")
    assert send_params(untyped).get("gasPrice") == "0x4a817c800"


# --- engine helpers ----------------------------------------------------------------------------


def original(block: int, index: int, *, chain_id: int = 1, sender: str = ALICE) -> OriginalTx:
    """A real OriginalTx for the `index`-th transaction of `block`."""
    raw = {
        "hash": "0x" + f"{block:08x}{index:04x}".rjust(64, "0"),
        "blockNumber": hex(block),
        "transactionIndex": hex(index),
        "from": sender,
        "to": BOB,
        "value": "0x0",
        "gas": "0x5208",
        "nonce": hex(index),
        "input": "0x",
        "type": "0x2",
    }
    return OriginalTx(
        chain_id=chain_id,
        tx=raw,
        info=parse_transaction(raw),
        receipt={"status": "0x1", "gasUsed": "0x5208", "logs": []},
        block={"number": hex(block), "transactions": [raw["hash"]]},
        block_receipts=None,
    )


def test_nonce_calls_use_each_senders_first_nonce() -> None:
    txs = [
        {"from": ALICE, "nonce": "0x5"},
        {"from": BOB.lower(), "nonce": "0x9"},
        {"from": ALICE.lower(), "nonce": "0x6"},
        {"from": BOB, "nonce": "0xa"},
    ]
    assert nonce_calls(txs) == [
        ("anvil_setNonce", [ALICE.lower(), "0x5"]),
        ("anvil_setNonce", [BOB.lower(), "0x9"]),
    ]
    assert nonce_calls([]) == []


def test_group_by_block_keeps_consecutive_runs() -> None:
    a, b, c, d = original(100, 0), original(100, 3), original(102, 1), original(103, 0)
    assert group_by_block([a, b, c, d]) == [[a, b], [c], [d]]
    assert group_by_block([a]) == [[a]]
    assert group_by_block([]) == []


def test_chain_order_accepts_sorted_positions() -> None:
    check_chain_order([original(100, 0), original(100, 3), original(102, 1)])
    check_chain_order([original(5, 0)])


@pytest.mark.parametrize(
    "positions",
    [[(100, 3), (100, 0)], [(101, 0), (100, 5)], [(100, 2), (100, 2)]],
    ids=["index-backwards", "block-backwards", "duplicate"],
)
def test_chain_order_rejects(positions: list[tuple[int, int]]) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_chain_order([original(block, index) for block, index in positions])
    assert str(info.value) == (
        "list the transactions once each, in chain order (block, then index in block)"
    )


def test_chain_order_rejects_several_chains() -> None:
    with pytest.raises(InvalidInputError) as info:
        check_chain_order([original(100, 0, chain_id=10), original(100, 1, chain_id=1)])
    assert str(info.value) == "the transactions come from several chains: [1, 10]"


def test_preceding_transactions_of_an_original() -> None:
    first, second, target = ({"hash": f"0x{n}", "from": ALICE} for n in (1, 2, 3))
    tx3 = original(7, 2)
    full = OriginalTx(
        chain_id=1,
        tx=tx3.tx,
        info=tx3.info,
        receipt=tx3.receipt,
        block={"number": "0x7", "transactions": [first, second, target]},
        block_receipts=[],
    )
    assert full.preceding() == [first, second]
    assert (full.block_number, full.index) == (7, 2)
    assert tx3.preceding() == []  # a block fetched with hashes only


def testpreceding_notes() -> None:
    def rcpt(status: str, gas: str, tx_hash: str = "0x01") -> dict[str, Any]:
        return {"status": status, "gasUsed": gas, "transactionHash": tx_hash}

    target = original(7, 3)
    full = OriginalTx(
        chain_id=1,
        tx=target.tx,
        info=target.info,
        receipt=target.receipt,
        block=target.block,
        block_receipts=[
            rcpt("0x1", "0x5208", "0xaa"),
            rcpt("0x1", "0x5208", "0xbb"),
            rcpt("0x1", "0xc350", "0xcc"),
        ],
    )
    executed = ExecutedBlock(
        block={},
        hashes=["0x11", "", "0x33", "0x44"],
        receipts=[rcpt("0x1", "0x5208"), {}, rcpt("0x0", "0x6000"), rcpt("0x1", "0x5208")],
    )
    assert preceding_notes(full, executed, 3) == [
        "earlier tx #1 could not be replayed (the engine rejected it)",
        "earlier tx #2 (0xcc) diverged: status/gas 1/50000 originally, 0/24576 replayed",
    ]
    assert preceding_notes(full, executed, 0) == []
    assert preceding_notes(target, executed, 3) == []  # no block receipts (quick mode)
