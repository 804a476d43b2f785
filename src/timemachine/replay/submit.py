"""Turn a mined transaction into the eth_sendTransaction an impersonating fork accepts.

Impersonation (not the raw signed bytes) keeps the upstream request count at zero for the
block's transactions: every field comes from the block we already fetched. Execution is identical;
only the replayed hash differs, and results are always reported under the original hash.
"""

from __future__ import annotations

from typing import Any

# Fields that change execution, copied verbatim (hex strings as the node gave them).
_COPIED = (
    "from",
    "to",
    "value",
    "gas",
    "nonce",
    "input",
    "type",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "accessList",
    "authorizationList",
    "maxFeePerBlobGas",
    "blobVersionedHashes",
    "chainId",
)
_LEGACY_TYPES = ("0x0", "0x1")


def send_params(tx: dict[str, Any]) -> dict[str, Any]:
    """eth_sendTransaction params reproducing `tx` (fee fields kept per its type)."""
    params = {key: tx[key] for key in _COPIED if tx.get(key) is not None}
    if "input" not in params and tx.get("data") is not None:
        params["input"] = tx["data"]
    if params.get("type", "0x0") in _LEGACY_TYPES:  # old nodes omit `type` on legacy txs
        params.pop("maxFeePerGas", None)
        params.pop("maxPriorityFeePerGas", None)
    else:
        params.pop("gasPrice", None)
    return params
