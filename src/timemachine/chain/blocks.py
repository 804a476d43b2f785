"""Parse JSON-RPC blocks, transactions and receipts (hex strings) into typed values."""

from __future__ import annotations

import re
from typing import Any

from timemachine.errors import InvalidInputError
from timemachine.hexutil import checksum as to_checksum
from timemachine.hexutil import parse_int
from timemachine.models import BlockEnv, LogEntry, ReceiptSummary, TransactionInfo

TX_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
HEX_RE = re.compile(r"^0x([0-9a-fA-F]{2})*$")


def validate_tx_hash(value: str) -> str:
    """A lower-case 0x-prefixed 32-byte hash, or InvalidInputError."""
    candidate = value.strip()
    if not TX_HASH_RE.match(candidate):
        raise InvalidInputError(
            f"{value!r} is not a transaction hash (expected 0x followed by 64 hex digits)"
        )
    return candidate.lower()


def validate_hex(value: str, what: str) -> str:
    """Even-length 0x-hex, or InvalidInputError naming `what`."""
    candidate = value.strip()
    if not HEX_RE.match(candidate) or len(candidate) < 4:
        raise InvalidInputError(f"{what} must be 0x-prefixed hex bytes, got {value[:20]!r}...")
    return candidate.lower()


def quantity(value: Any, default: int = 0) -> int:
    """A JSON-RPC QUANTITY (hex string, or an int some nodes send) as int; `default` if absent."""
    return parse_int(value, default)


def checksum(address: str | None) -> str | None:
    return to_checksum(address) if address else None


def parse_block_env(block: dict[str, Any]) -> BlockEnv:
    """The block environment fields of a JSON-RPC block."""
    return BlockEnv(
        number=quantity(block["number"]),
        hash=block.get("hash"),
        parent_hash=block.get("parentHash"),
        timestamp=quantity(block["timestamp"]),
        coinbase=to_checksum(block["miner"]),
        gas_limit=quantity(block["gasLimit"]),
        base_fee=quantity(block["baseFeePerGas"]) if "baseFeePerGas" in block else None,
        difficulty=quantity(block.get("difficulty")),
        prevrandao=block.get("mixHash"),
        blob_gas_used=quantity(block["blobGasUsed"]) if "blobGasUsed" in block else None,
        excess_blob_gas=quantity(block["excessBlobGas"]) if "excessBlobGas" in block else None,
        has_withdrawals="withdrawalsRoot" in block,
        has_requests="requestsHash" in block,
    )


def parse_transaction(tx: dict[str, Any]) -> TransactionInfo:
    """A JSON-RPC transaction object as TransactionInfo."""
    block_number = tx.get("blockNumber")
    index = tx.get("transactionIndex")
    return TransactionInfo(
        hash=tx["hash"].lower(),
        block_number=quantity(block_number) if block_number is not None else None,
        tx_index=quantity(index) if index is not None else None,
        sender=to_checksum(tx["from"]),
        to=checksum(tx.get("to")),
        value=quantity(tx.get("value")),
        input=tx.get("input") or tx.get("data") or "0x",
        gas=quantity(tx.get("gas")),
        nonce=quantity(tx.get("nonce")),
        type=quantity(tx.get("type")),
    )


def parse_logs(logs: list[dict[str, Any]]) -> list[LogEntry]:
    """Receipt logs; `index` is the position within the transaction (not the block's logIndex)."""
    return [
        LogEntry(
            address=to_checksum(log["address"]),
            topics=[topic.lower() for topic in log.get("topics", [])],
            data=(log.get("data") or "0x").lower(),
            index=position,
        )
        for position, log in enumerate(logs)
    ]


def parse_receipt(receipt: dict[str, Any]) -> ReceiptSummary:
    """The comparable parts of a JSON-RPC receipt."""
    return ReceiptSummary(
        status=quantity(receipt.get("status"), default=1),
        gas_used=quantity(receipt["gasUsed"]),
        logs=parse_logs(receipt.get("logs", [])),
        contract_address=checksum(receipt.get("contractAddress")),
    )


def raw_transaction_sender(raw: str) -> tuple[str, int]:
    """The signer (checksummed) and nonce of a raw signed transaction, any type."""
    import rlp
    from eth_account import Account
    from eth_account.typed_transactions.typed_transaction import TypedTransaction
    from hexbytes import HexBytes

    try:
        payload = bytes.fromhex(raw[2:])
        sender: str = Account.recover_transaction(payload)
        if payload and payload[0] >= 0xC0:  # legacy: an RLP list whose first item is the nonce
            nonce = int.from_bytes(rlp.decode(payload)[0], "big")
        else:
            nonce = int(TypedTransaction.from_bytes(HexBytes(payload)).as_dict()["nonce"])
    except (ValueError, TypeError, IndexError, KeyError, rlp.DecodingError) as exc:
        raise InvalidInputError(f"not a valid signed transaction: {exc}") from exc
    return sender, nonce


def raw_transaction_hash(raw: str) -> str:
    """The hash of a raw signed transaction (keccak of its bytes, for every tx type)."""
    from eth_utils.crypto import keccak

    try:
        payload = bytes.fromhex(raw[2:])
    except ValueError as exc:
        raise InvalidInputError("a raw signed transaction must be 0x-prefixed hex") from exc
    return "0x" + keccak(payload).hex()
