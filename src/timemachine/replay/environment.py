"""Recreate a historical block environment on a fork, and say what the engine could not recreate."""

from __future__ import annotations

from typing import Any

from timemachine.chain.blocks import quantity
from timemachine.forks.manager import env_calls
from timemachine.models import BlockEnv

__all__ = ["env_calls", "env_differences"]

UNSETTABLE = frozenset({"prevrandao", "difficulty"})


def env_differences(env: BlockEnv, mined: dict[str, Any]) -> list[str]:
    """Notes for every block field of the replayed block that differs from the original.

    anvil has no RPC to set PREVRANDAO or DIFFICULTY, so those can differ; the other fields are
    set and a difference there means the engine did not honour the request. Either way the note
    says what it can affect, so a divergence is never unexplained.
    """
    notes = []
    fields: list[tuple[str, Any, Any, str]] = [
        ("number", env.number, quantity(mined["number"]), "block.number"),
        ("timestamp", env.timestamp, quantity(mined["timestamp"]), "block.timestamp"),
        ("coinbase", env.coinbase.lower(), str(mined["miner"]).lower(), "block.coinbase"),
        ("gas_limit", env.gas_limit, quantity(mined["gasLimit"]), "block.gaslimit"),
    ]
    if env.base_fee is not None:
        fields.append(
            ("base_fee", env.base_fee, quantity(mined.get("baseFeePerGas")), "block.basefee")
        )
    if env.prevrandao is not None and env.difficulty == 0:
        fields.append(("prevrandao", env.prevrandao, mined.get("mixHash"), "block.prevrandao"))
    elif env.difficulty:
        fields.append(
            ("difficulty", env.difficulty, quantity(mined.get("difficulty")), "block.difficulty")
        )
    for name, original, replayed, opcode in fields:
        if original != replayed:
            why = "the engine cannot set it" if name in UNSETTABLE else "the engine ignored it"
            notes.append(
                f"block {name} differs (original {original}, replay {replayed}): {why}; only "
                f"code reading {opcode} is affected"
            )
    return notes
