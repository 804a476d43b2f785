"""A transaction sent as its sender (`eth_sendTransaction`, what replays submit) as py-evm runs it.

Replays send mined transactions by impersonation, with every execution-relevant field of the
original (replay/submit.py). py-evm has no impersonation, so the fields become the unsigned
transaction of their type and py-evm is told its sender (py-evm's `SpoofTransaction`); the
signature values it would check are set to valid placeholders. Execution is the same as the
signed original's: nothing in the EVM reads the signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rlp
from eth.vm.spoof import SpoofTransaction
from eth_utils.crypto import keccak

from timemachine.errors import InvalidInputError
from timemachine.hexutil import hex_to_bytes, quantity

_CREATE = b""
# Within secp256k1's lower half-order (Homestead's check); never verified for a spoofed sender.
_PLACEHOLDER_SIGNATURE = {"v": 27, "y_parity": 0, "r": 1, "s": 1}


def spoofed_transaction(vm: Any, params: Mapping[str, Any], chain_id: int) -> Any:
    """The transaction of `params` (eth_sendTransaction fields, `from` included) for `vm`."""
    sender = hex_to_bytes(params.get("from"))
    if sender is None or len(sender) != 20:
        raise InvalidInputError("eth_sendTransaction needs a `from` address")
    kind = quantity(params.get("type")) or 0
    builder = vm.get_transaction_builder()
    fields: dict[str, Any] = {
        "nonce": quantity(params.get("nonce")) or 0,
        "gas": quantity(params.get("gas")) or 0,
        "to": hex_to_bytes(params.get("to")) or _CREATE,
        "value": quantity(params.get("value")) or 0,
        "data": hex_to_bytes(params.get("input") or params.get("data")) or b"",
    }
    if kind == 0:
        unsigned = builder.create_unsigned_transaction(
            gas_price=quantity(params.get("gasPrice")) or 0, **fields
        )
    else:
        unsigned = _typed(builder, kind, params, fields, chain_id)
    typed_message = getattr(unsigned, "get_message_for_signing", None)
    message = typed_message() if typed_message is not None else rlp.encode(unsigned)
    return SpoofTransaction(
        unsigned,
        sender=sender,
        hash=keccak(sender + message),
        type_id=kind or None,  # what py-evm's signed transactions of the type answer
        **_PLACEHOLDER_SIGNATURE,
    )


def _typed(
    builder: Any, kind: int, params: Mapping[str, Any], fields: dict[str, Any], chain_id: int
) -> Any:
    typed = {
        "chain_id": quantity(params.get("chainId")) or chain_id,
        **fields,
        "access_list": [
            (
                hex_to_bytes(entry["address"]),
                [quantity(key) for key in entry.get("storageKeys") or ()],
            )
            for entry in params.get("accessList") or ()
        ],
    }
    if kind == 1:
        return builder.new_unsigned_access_list_transaction(
            gas_price=quantity(params.get("gasPrice")) or 0, **typed
        )
    fees = {
        "max_priority_fee_per_gas": quantity(params.get("maxPriorityFeePerGas")) or 0,
        "max_fee_per_gas": quantity(params.get("maxFeePerGas")) or 0,
    }
    if kind == 2:
        return builder.new_unsigned_dynamic_fee_transaction(**fees, **typed)
    if kind == 3:
        return builder.new_unsigned_blob_transaction(
            **fees,
            **typed,
            max_fee_per_blob_gas=quantity(params.get("maxFeePerBlobGas")) or 0,
            blob_versioned_hashes=[
                hex_to_bytes(item) for item in params.get("blobVersionedHashes") or ()
            ],
        )
    if kind == 4:
        return builder.new_unsigned_set_code_transaction(
            **fees,
            **typed,
            authorization_list=[
                _authorization(item) for item in params.get("authorizationList") or ()
            ],
        )
    raise InvalidInputError(f"py-evm cannot run a transaction of type {kind}")


def _authorization(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "chain_id": quantity(item.get("chainId")) or 0,
        "address": hex_to_bytes(item.get("address")),
        "nonce": quantity(item.get("nonce")) or 0,
        "y_parity": quantity(item.get("yParity", item.get("v"))) or 0,
        "r": quantity(item.get("r")) or 0,
        "s": quantity(item.get("s")) or 0,
    }
