"""geth's prestateTracer output (eth/tracers/native/prestate.go), before any tracer option.

Raw means: code and storage always present (disableCode/disableStorage are left to the caller),
no `codeHash`, and accounts empty before the transaction kept (includeEmpty is the caller's
choice too); accounts created by the transaction that did not exist before are left out, as geth
does whatever the options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from timemachine.pyevm.tracing import Account


def prestate_json(
    before: Mapping[bytes, Account], created: set[bytes]
) -> dict[str, dict[str, Any]]:
    return {
        _hex(address): _account_json(account)
        for address, account in before.items()
        if address not in created or account.existed
    }


def without_disabled(traced: dict[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """`traced` (a prestate result) without code (disableCode) or storage (disableStorage)."""
    options = (("code", "disableCode"), ("storage", "disableStorage"))
    dropped = [key for key, option in options if config.get(option)]
    diff = config.get("diffMode")
    sections = [traced.get("pre", {}), traced.get("post", {})] if diff else [traced]
    for accounts in sections:
        for account in accounts.values():
            for key in dropped:
                account.pop(key, None)
    return traced


def diff_json(
    before: Mapping[bytes, Account],
    after: Mapping[bytes, Account],
    created: set[bytes],
    deleted: set[bytes],
) -> dict[str, dict[str, dict[str, Any]]]:
    """`{"post": ..., "pre": ...}`: the accounts that changed, their old and new values.

    `pre` keeps only the slots that changed (and were not zero), `post` only the fields that
    changed and the changed slots whose new value is not zero; an account SELFDESTRUCT deleted
    stays whole in `pre` and is left out of `post`.
    """
    pre: dict[str, dict[str, Any]] = {}
    post: dict[str, dict[str, Any]] = {}
    for address, old in before.items():
        if address in deleted:
            pre[_hex(address)] = _account_json(old)
            continue
        new = after[address]
        changed: dict[str, Any] = {}
        if new.balance != old.balance:
            changed["balance"] = hex(new.balance)
        if new.nonce != old.nonce and new.nonce:
            changed["nonce"] = new.nonce
        if new.code != old.code:
            # geth writes emptied code (an EIP-7702 delegation cleared) as "0x".
            changed["code"] = _hex(new.code)
        modified = bool(changed) or new.nonce != old.nonce or new.code != old.code
        kept: dict[int, int] = {}
        changed_slots: dict[int, int] = {}
        for slot, value in old.storage.items():
            if new.storage[slot] == value:
                continue
            modified = True
            if value:
                kept[slot] = value
            if new.storage[slot]:
                changed_slots[slot] = new.storage[slot]
        if changed_slots:
            changed["storage"] = _storage_json(changed_slots)
        if not modified:
            continue
        post[_hex(address)] = changed
        if address not in created or old.existed:
            pre[_hex(address)] = _account_json(
                Account(old.existed, old.balance, old.nonce, old.code, kept)
            )
    return {"post": post, "pre": pre}


def _account_json(account: Account) -> dict[str, Any]:
    out: dict[str, Any] = {"balance": hex(account.balance)}
    if account.nonce:
        out["nonce"] = account.nonce
    if account.code:
        out["code"] = _hex(account.code)
    if account.storage:
        out["storage"] = _storage_json(account.storage)
    return out


def _storage_json(storage: Mapping[int, int]) -> dict[str, str]:
    return {
        _hex(slot.to_bytes(32, "big")): _hex(value.to_bytes(32, "big"))
        for slot, value in storage.items()
    }


def _hex(data: bytes) -> str:
    return "0x" + data.hex()
