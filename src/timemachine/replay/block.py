"""Mine one block on a fork: the original environment, exactly the given transactions, in order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from timemachine.chain.rpc import Call
from timemachine.errors import ReplayError, RpcError
from timemachine.forks.manager import Fork
from timemachine.models import BlockEnv
from timemachine.replay.environment import env_calls
from timemachine.replay.submit import send_params


@dataclass(frozen=True)
class ExecutedBlock:
    """The replayed block: our hash for each submitted tx, in order, and their receipts."""

    block: dict[str, Any]
    hashes: list[str]
    receipts: list[dict[str, Any]]


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


async def execute_block(
    fork: Fork, env: BlockEnv, setup: Sequence[Call], submissions: Sequence[Call]
) -> ExecutedBlock:
    """Mine one block with `env` holding exactly `submissions` in order (after `setup`)."""
    with fork.crash_guard("replaying the block"):
        await fork.rpc.batch([*env_calls(env), *setup])
        sent = await fork.rpc.batch_settled(submissions)
        target_error = sent[-1]
        if isinstance(target_error, RpcError):
            raise ReplayError(f"the engine rejected the transaction: {target_error.message}")
        await fork.rpc.call("evm_mine")
        block, receipts = await fork.rpc.batch(
            [("eth_getBlockByNumber", ["latest", False]), ("eth_getBlockReceipts", ["latest"])]
        )
    hashes = [h if isinstance(h, str) else "" for h in sent]
    mined = [h.lower() for h in block["transactions"]]
    expected = [h.lower() for h in hashes if h]
    if mined != expected:
        raise ReplayError(
            f"the engine mined {len(mined)} transactions in another order or number than the "
            f"{len(expected)} sent; the block gas limit may be too low"
        )
    by_hash = {r["transactionHash"].lower(): r for r in receipts}
    return ExecutedBlock(
        block=block, hashes=hashes, receipts=[by_hash.get(h.lower(), {}) for h in hashes]
    )
