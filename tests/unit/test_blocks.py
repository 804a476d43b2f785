"""JSON-RPC blocks, transactions and receipts parsed into typed values; input validation."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from timemachine.chain.blocks import (
    parse_block_env,
    parse_receipt,
    parse_transaction,
    quantity,
    raw_transaction_hash,
    validate_hex,
    validate_tx_hash,
)
from timemachine.errors import InvalidInputError
from timemachine.models import BlockEnv, LogEntry, ReceiptSummary, TransactionInfo

HASH = "0x" + "ab" * 32
SENDER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first dev account
SENDER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
TARGET = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
MINER = "0xEA674fdDe714fd979de3EdF0F56AA9716B898ec8"
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
RANDAO = "0x" + "5e" * 32
PARENT = "0x" + "01" * 32
BLOCK_HASH = "0x" + "02" * 32


# --- validation ------------------------------------------------------------------------------


def test_validate_tx_hash_accepts_and_lowercases() -> None:
    assert validate_tx_hash(HASH) == HASH
    assert validate_tx_hash("0x" + "AB" * 32) == HASH
    assert validate_tx_hash(f"  {HASH}\n") == HASH


@pytest.mark.parametrize(
    "value",
    [
        "0x" + "ab" * 31,  # 31 bytes
        "0x" + "ab" * 33,  # 33 bytes
        "ab" * 32,  # no 0x
        "0x" + "zz" * 32,  # not hex
        "0x" + "ab" * 16 + " " + "ab" * 16,  # space inside
        "",
    ],
)
def test_validate_tx_hash_rejects(value: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_tx_hash(value)
    assert str(info.value) == (
        f"{value!r} is not a transaction hash (expected 0x followed by 64 hex digits)"
    )


def test_validate_hex() -> None:
    assert validate_hex("0xABcd", "calldata") == "0xabcd"
    assert validate_hex(" 0x00 ", "calldata") == "0x00"


@pytest.mark.parametrize("value", ["0x", "0xabc", "abcd", "0xgg", "0x12 34"])
def test_validate_hex_rejects(value: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_hex(value, "a raw signed transaction")
    assert str(info.value) == (
        f"a raw signed transaction must be 0x-prefixed hex bytes, got {value!r}..."
    )


def test_validate_hex_shortens_long_input_in_the_message() -> None:
    with pytest.raises(InvalidInputError) as info:
        validate_hex("0x" + "ab" * 40 + "z", "calldata")
    assert (
        str(info.value) == "calldata must be 0x-prefixed hex bytes, got '0xababababababababab'..."
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0x0", 0),
        ("0x10", 16),
        ("0xDE0B6B3A7640000", 10**18),
        (7, 7),
        ("0x" + "f" * 64, 2**256 - 1),
    ],
)
def test_quantity(value: object, expected: int) -> None:
    assert quantity(value) == expected


def test_quantity_default_for_missing() -> None:
    assert quantity(None) == 0
    assert quantity(None, default=1) == 1


# --- blocks ------------------------------------------------------------------------------------


def _header(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "number": "0xbc614e",  # 12,345,678
        "hash": BLOCK_HASH,
        "parentHash": PARENT,
        "timestamp": "0x60c5d6b5",
        "miner": MINER.lower(),
        "gasLimit": "0xe4e1c0",  # 15,000,000
        "gasUsed": "0x5208",
        "difficulty": "0x1b5e4f8c4d0a2a",
        "mixHash": "0x" + "3c" * 32,
        "nonce": "0x1122334455667788",
        "transactions": [],
    }
    base.update(fields)
    return base


def test_parse_block_env_pre_london() -> None:
    env = parse_block_env(_header())
    assert env == BlockEnv(
        number=12_345_678,
        hash=BLOCK_HASH,
        parent_hash=PARENT,
        timestamp=0x60C5D6B5,
        coinbase=MINER,
        gas_limit=15_000_000,
        base_fee=None,
        difficulty=0x1B5E4F8C4D0A2A,
        prevrandao="0x" + "3c" * 32,
        blob_gas_used=None,
        excess_blob_gas=None,
        has_withdrawals=False,
        has_requests=False,
    )


def test_parse_block_env_london_proof_of_work() -> None:
    env = parse_block_env(_header(number="0xc5d488", baseFeePerGas="0x3b9aca00"))
    assert env.number == 12_965_000
    assert env.base_fee == 1_000_000_000
    assert env.difficulty == 0x1B5E4F8C4D0A2A


def test_parse_block_env_post_merge() -> None:
    block = _header(
        number="0xed14f2",  # 15,537,394
        difficulty="0x0",
        mixHash=RANDAO,
        nonce="0x0000000000000000",
        baseFeePerGas="0x2b7f8d8a9",
        gasLimit="0x1c9c380",
    )
    env = parse_block_env(block)
    assert env.number == 15_537_394
    assert env.difficulty == 0
    assert env.prevrandao == RANDAO
    assert env.base_fee == 0x2B7F8D8A9
    assert env.gas_limit == 30_000_000
    assert (env.has_withdrawals, env.blob_gas_used, env.excess_blob_gas) == (False, None, None)


def test_parse_block_env_cancun_and_prague() -> None:
    cancun = _header(
        difficulty="0x0",
        mixHash=RANDAO,
        baseFeePerGas="0x7",
        withdrawalsRoot="0x" + "03" * 32,
        withdrawals=[],
        blobGasUsed="0x40000",
        excessBlobGas="0x0",
        parentBeaconBlockRoot="0x" + "04" * 32,
    )
    env = parse_block_env(cancun)
    assert env.base_fee == 7
    assert env.blob_gas_used == 262_144
    assert env.excess_blob_gas == 0  # present though zero: not None
    assert env.has_withdrawals is True
    assert env.has_requests is False

    prague = parse_block_env({**cancun, "requestsHash": "0x" + "05" * 32})
    assert prague.has_requests is True


# --- transactions ------------------------------------------------------------------------------


def test_parse_transaction_dynamic_fee() -> None:
    tx = {
        "hash": "0x" + "CD" * 32,
        "blockNumber": "0x10",
        "transactionIndex": "0x2",
        "from": SENDER.lower(),
        "to": TARGET.lower(),
        "value": "0xde0b6b3a7640000",
        "input": "0xa9059cbb",
        "gas": "0x5208",
        "nonce": "0x7",
        "type": "0x2",
        "maxFeePerGas": "0x3b9aca00",
    }
    assert parse_transaction(tx) == TransactionInfo(
        hash="0x" + "cd" * 32,
        block_number=16,
        tx_index=2,
        sender=SENDER,
        to=TARGET,
        value=10**18,
        input="0xa9059cbb",
        gas=21_000,
        nonce=7,
        type=2,
    )


def test_parse_transaction_pending_creation_with_data_field() -> None:
    """A pending contract creation from a node that says `data` and omits `type`."""
    tx = {
        "hash": HASH,
        "blockNumber": None,
        "transactionIndex": None,
        "from": SENDER,
        "to": None,
        "value": "0x0",
        "data": "0x6080",
        "gas": "0x186a0",
        "nonce": "0x0",
    }
    info = parse_transaction(tx)
    assert (info.block_number, info.tx_index, info.to) == (None, None, None)
    assert info.input == "0x6080"
    assert info.type == 0
    assert info.gas == 100_000


def test_parse_transaction_index_zero_is_kept() -> None:
    tx = {"hash": HASH, "blockNumber": "0x0", "transactionIndex": "0x0", "from": SENDER}
    info = parse_transaction(tx)
    assert (info.block_number, info.tx_index) == (0, 0)
    assert info.input == "0x"


# --- receipts ----------------------------------------------------------------------------------


def _log(log_index: int, address: str, data: str | None, *topics: str) -> dict[str, Any]:
    return {
        "address": address,
        "topics": list(topics),
        "data": data,
        "logIndex": hex(log_index),
        "transactionIndex": "0x3",
        "blockNumber": "0x10",
    }


def test_parse_receipt_log_index_is_position_in_the_tx() -> None:
    topic_from = "0x" + "00" * 12 + SENDER[2:].lower()
    receipt = {
        "status": "0x1",
        "gasUsed": "0xcf08",
        "contractAddress": None,
        "logs": [
            _log(41, TARGET.lower(), "0x" + "0A" * 32, TRANSFER.upper().replace("0X", "0x")),
            _log(42, MINER.lower(), None, topic_from),
        ],
    }
    assert parse_receipt(receipt) == ReceiptSummary(
        status=1,
        gas_used=53_000,
        contract_address=None,
        logs=[
            LogEntry(address=TARGET, topics=[TRANSFER], data="0x" + "0a" * 32, index=0),
            LogEntry(address=MINER, topics=[topic_from], data="0x", index=1),
        ],
    )


def test_parse_receipt_failed_creation() -> None:
    receipt = {"status": "0x0", "gasUsed": "0x7a120", "contractAddress": TARGET.lower()}
    assert parse_receipt(receipt) == ReceiptSummary(
        status=0, gas_used=500_000, logs=[], contract_address=TARGET
    )


def test_parse_receipt_pre_byzantium_has_no_status() -> None:
    """Receipts before Byzantium carry a state root instead of a status: counted as success."""
    receipt = {"root": "0x" + "06" * 32, "gasUsed": "0x5208", "logs": []}
    assert parse_receipt(receipt).status == 1


# --- raw transactions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"gasPrice": 20 * 10**9, "chainId": 1},  # legacy, EIP-155
        {"gasPrice": 20 * 10**9, "chainId": 1, "accessList": [], "type": 1},
        {"maxFeePerGas": 30 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": 1, "type": 2},
    ],
    ids=["legacy", "access-list", "dynamic-fee"],
)
def test_raw_transaction_hash_matches_eth_account(fields: dict[str, Any]) -> None:
    tx = {"to": TARGET, "value": 10**17, "gas": 21_000, "nonce": 3, "data": "0x", **fields}
    signed = Account.sign_transaction(tx, SENDER_KEY)
    raw = "0x" + bytes(signed.raw_transaction).hex()
    expected = "0x" + bytes(signed.hash).hex()
    assert raw_transaction_hash(raw) == expected
    assert raw_transaction_hash(raw.upper().replace("0X", "0x")) == expected


def test_raw_transaction_hash_rejects_non_hex() -> None:
    with pytest.raises(InvalidInputError) as info:
        raw_transaction_hash("0xf86zz")
    assert str(info.value) == "a raw signed transaction must be 0x-prefixed hex"
