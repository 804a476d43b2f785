"""Prefetch: the state a block's first transactions touch, from the upstream's own tracer.

`debug_traceBlockByNumber` with prestateTracer reports, per transaction, every account and slot
it touched as it was just before that transaction. The first time an account field or a slot
appears is its value at the start of the block (an earlier transaction that changed it would have
touched it, and so listed it first), which is exactly the fork's state at the parent block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from timemachine.chain.blocks import quantity
from timemachine.chain.gateway import SeedAccount
from timemachine.chain.rpc import RpcClient

PRESTATE_TRACER = {"tracer": "prestateTracer"}


def merge_prestates(traces: Sequence[dict[str, Any]], count: int) -> dict[str, SeedAccount]:
    """Start-of-block state of what the first `count` transactions touched."""
    merged: dict[str, dict[str, Any]] = {}
    for item in traces[:count]:
        for address, account in (item.get("result") or {}).items():
            known = merged.setdefault(address.lower(), {"storage": {}})
            for name in ("balance", "nonce", "code"):
                if name in account and name not in known:
                    known[name] = account[name]
            for slot, value in (account.get("storage") or {}).items():
                known["storage"].setdefault(slot, value)
    return {
        address: SeedAccount(
            balance=quantity(fields["balance"]) if "balance" in fields else None,
            nonce=quantity(fields["nonce"]) if "nonce" in fields else None,
            # Tracers omit empty code (geth: omitempty), so a listed account without it has none.
            code=fields.get("code") or "0x",
            storage=fields["storage"],
        )
        for address, fields in merged.items()
    }


async def complete_accounts(
    rpc: RpcClient, accounts: dict[str, SeedAccount], block_number: int
) -> dict[str, SeedAccount]:
    """Fill the nonces and balances tracers left out (some omit non-zero contract nonces), in one
    batch at `block_number`."""
    tag = hex(block_number)
    wanted = [
        (address, field, method)
        for address, account in accounts.items()
        for field, method in (("nonce", "eth_getTransactionCount"), ("balance", "eth_getBalance"))
        if getattr(account, field) is None
    ]
    if not wanted:
        return accounts
    answers = await rpc.batch([(method, [address, tag]) for address, _, method in wanted])
    completed = dict(accounts)
    for (address, field, _), answer in zip(wanted, answers, strict=True):
        account = completed[address]
        completed[address] = (
            replace(account, nonce=quantity(answer))
            if field == "nonce"
            else replace(account, balance=quantity(answer))
        )
    return completed
