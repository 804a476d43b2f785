"""Prefetch: the state a block's first transactions touch, from the upstream's own tracer.

`debug_traceBlockByNumber` with prestateTracer reports, per transaction, every account and slot
it touched as it was just before that transaction. The first listing of an account, and the first
time a slot appears, give its value at the start of the block (an earlier transaction that
changed it would have touched it, and so listed it first), which is exactly the fork's state at
the parent block — except for contracts created inside the block (see `merge_prestates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from timemachine.chain.blocks import quantity
from timemachine.chain.gateway import SeedAccount
from timemachine.ports import ChainRPC

PRESTATE_TRACER = {"tracer": "prestateTracer"}


def merge_prestates(traces: Sequence[dict[str, Any]], count: int) -> dict[str, SeedAccount]:
    """Start-of-block state of what the first `count` transactions touched.

    An account's balance, nonce and code come from its FIRST listing only: a later listing may
    show it after an earlier transaction created it (prestateTracer lists a contract created by
    transaction i as a bare balance there, with code and nonce only from transaction i+1 on;
    seeding those would make the replayed CREATE collide). A field the first listing omits
    stays unknown (code: tracers omit empty code, so none), and `complete_accounts` reads it at
    the parent block. Later listings add storage slots only for accounts that already had code
    at their first listing (a slot an earlier transaction wrote was listed by that one first).
    """
    merged: dict[str, dict[str, Any]] = {}
    for item in traces[:count]:
        for address, account in (item.get("result") or {}).items():
            key = address.lower()
            known = merged.get(key)
            if known is None:
                fields = {
                    name: account[name] for name in ("balance", "nonce", "code") if name in account
                }
                merged[key] = {**fields, "storage": dict(account.get("storage") or {})}
                continue
            if known.get("code") not in (None, "0x"):
                for slot, value in (account.get("storage") or {}).items():
                    known["storage"].setdefault(slot, value)
    return {
        address: SeedAccount(
            balance=quantity(fields["balance"]) if "balance" in fields else None,
            nonce=quantity(fields["nonce"]) if "nonce" in fields else None,
            code=fields.get("code") or "0x",
            storage=fields["storage"],
        )
        for address, fields in merged.items()
    }


async def complete_accounts(
    rpc: ChainRPC, accounts: dict[str, SeedAccount], block_number: int
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
