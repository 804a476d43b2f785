"""Prefetch: the state a block's first transactions touch, from the upstream's own tracer.

`debug_traceBlockByNumber` with prestateTracer reports, per transaction, every account and slot
it touched as it was just before that transaction. The first listing of an account, and the first
time a slot appears, give its value at the start of the block (an earlier transaction that
changed it would have touched it, and so listed it first), which is exactly the fork's state at
the parent block — except for contracts created inside the block (see `merge_prestates`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from timemachine.chain.blocks import quantity
from timemachine.chain.gateway import SeedAccount, StateGateway
from timemachine.chain.hardforks import is_at_least
from timemachine.errors import MethodUnavailableError
from timemachine.ports import ChainRPC

PRESTATE_TRACER = {"tracer": "prestateTracer"}
HISTORY_STORAGE = "0x0000f90827f1c53a10cb7a02335b175320002935"
"""EIP-2935's system contract: from Prague on, each block starts by storing its parent's hash
there (slot `parent % 8191`), a read no transaction's prestate lists."""
HISTORY_SERVE_WINDOW = 8191


def system_reads(hardfork: str, parent: int) -> dict[str, list[str]]:
    """The system contracts and slots the first block on top of `parent` reads before any
    transaction runs (measured: what anvil fetches at that point), by address."""
    if not is_at_least(hardfork, "prague"):
        return {}
    return {HISTORY_STORAGE: [hex(parent % HISTORY_SERVE_WINDOW)]}


def remember_block(gateway: StateGateway, block: Mapping[str, Any]) -> None:
    """Cache a block fetched with its transactions under both forms a fork asks for (with full
    transactions, and with their hashes only)."""
    number = block["number"]
    hashes = [tx["hash"] if isinstance(tx, dict) else tx for tx in block["transactions"]]
    gateway.remember("eth_getBlockByNumber", [number, True], dict(block))
    gateway.remember("eth_getBlockByNumber", [number, False], {**block, "transactions": hashes})


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
    rpc: ChainRPC,
    accounts: dict[str, SeedAccount],
    block_number: int,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, SeedAccount]:
    """Fill the nonces and balances tracers left out (some omit non-zero contract nonces), and
    read the `extra` accounts (code too) and slots no trace lists (`system_reads`), in one batch
    at `block_number`."""
    tag = hex(block_number)
    completed = dict(accounts)
    for address in extra or {}:
        completed.setdefault(address, SeedAccount(storage={}))
    fields = [
        (address, field, method)
        for address, account in completed.items()
        for field, method in (
            ("nonce", "eth_getTransactionCount"),
            ("balance", "eth_getBalance"),
            ("code", "eth_getCode"),
        )
        if getattr(account, field) is None and (field != "code" or address not in accounts)
    ]
    slots = [
        (address, slot)
        for address, wanted in (extra or {}).items()
        for slot in wanted
        if slot not in (completed[address].storage or {})
    ]
    if not fields and not slots:
        return completed
    answers = await rpc.batch(
        [(method, [address, tag]) for address, _, method in fields]
        + [("eth_getStorageAt", [address, slot, tag]) for address, slot in slots]
    )
    for (address, field, _), answer in zip(fields, answers[: len(fields)], strict=True):
        value: Any = answer if field == "code" else quantity(answer)
        completed[address] = replace(completed[address], **{field: value})
    for (address, slot), answer in zip(slots, answers[len(fields) :], strict=True):
        account = completed[address]
        completed[address] = replace(account, storage={**(account.storage or {}), slot: answer})
    return completed


async def accessed_state(
    rpc: ChainRPC,
    txs: Sequence[Mapping[str, Any]],
    block_number: int,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, SeedAccount] | None:
    """Without a prestate tracer: what `txs` would touch, from `eth_createAccessList` of each on
    the state at `block_number` (one batch; senders and recipients added, as access lists leave
    them out), and the `extra` slots, all read at `block_number` in one more batch. A hint, not
    a proof: an earlier transaction may steer a later one elsewhere, and a fork fetches what it
    misses. None when the upstream has no `eth_createAccessList`."""
    tag = hex(block_number)
    answers = await rpc.batch_settled([("eth_createAccessList", [_call_of(tx), tag]) for tx in txs])
    if all(isinstance(answer, MethodUnavailableError) for answer in answers):
        return None
    touched: dict[str, set[str]] = {}
    for tx, answer in zip(txs, answers, strict=True):
        for address in (tx.get("from"), tx.get("to")):
            if address:
                touched.setdefault(address.lower(), set())
        listed = (answer.get("accessList") or []) if isinstance(answer, dict) else []
        for entry in listed:
            slots = touched.setdefault(str(entry["address"]).lower(), set())
            slots.update(str(key) for key in entry.get("storageKeys") or [])
    for address, wanted in (extra or {}).items():
        touched.setdefault(address, set()).update(wanted)
    reads = {address: sorted(keys) for address, keys in touched.items()}
    return await complete_accounts(rpc, {}, block_number, reads)


def _call_of(tx: Mapping[str, Any]) -> dict[str, Any]:
    """The call `eth_createAccessList` simulates for a mined transaction (no fee fields: a call
    pays no gas price, so the sender's balance at the parent block cannot refuse it)."""
    call = {"from": tx["from"], "data": tx.get("input", "0x"), "value": tx.get("value", "0x0")}
    if tx.get("to"):
        call["to"] = tx["to"]
    if tx.get("gas"):
        call["gas"] = tx["gas"]
    return call
