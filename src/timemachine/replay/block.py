"""What goes into a replayed block: the transactions sent as their senders, nonces lined up.

Mining the block is the fork's own job (`ports.LiveFork.execute`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from timemachine.ports import Call, ExecutedBlock
from timemachine.replay.submit import send_params

__all__ = ["ExecutedBlock", "impersonated", "nonce_calls"]


def impersonated(txs: Sequence[dict[str, Any]]) -> tuple[list[Call], list[Call]]:
    """Setup calls and submissions that send `txs` (JSON-RPC tx objects) as their senders."""
    setup: list[Call] = [("anvil_autoImpersonateAccount", [True]), *nonce_calls(txs)]
    return setup, [("eth_sendTransaction", [send_params(tx)]) for tx in txs]


def nonce_calls(txs: Sequence[dict[str, Any]]) -> list[Call]:
    """Give each sender the nonce of its first transaction here.

    A no-op in exact mode; in quick and sequence modes the skipped transactions would otherwise
    leave a nonce gap and the engine would hold the transaction back instead of mining it.
    """
    first_nonce: dict[str, str] = {}
    for tx in txs:
        first_nonce.setdefault(tx["from"].lower(), tx["nonce"])
    return [("anvil_setNonce", [sender, nonce]) for sender, nonce in first_nonce.items()]
