"""Builders for small hand-made ReplayResults the analysis unit tests run detectors on."""

from __future__ import annotations

from typing import Any

from timemachine.models import (
    AccountState,
    BalanceChange,
    BlockEnv,
    CallFrame,
    DecodedArg,
    DecodedCall,
    DecodedEvent,
    Fidelity,
    LogEntry,
    ReceiptSummary,
    ReplayResult,
    StateDiff,
    TokenTransfer,
)

EOA = "0x00000000000000000000000000000000000000e0"
ATTACKER = "0x00000000000000000000000000000000000000a7"
VICTIM = "0x00000000000000000000000000000000000000b1"
OTHER = "0x00000000000000000000000000000000000000c0"
COINBASE = "0x00000000000000000000000000000000000000fe"
ECRECOVER = "0x0000000000000000000000000000000000000001"
ETHER = 10**18


def call(
    source: str,
    target: str,
    selector: str = "0x",
    *,
    value: int = 0,
    kind: str = "CALL",
    name: str | None = None,
    calls: list[CallFrame] | None = None,
    data: str = "",
    output: str | None = None,
) -> CallFrame:
    decoded = DecodedCall(signature=f"{name}()", name=name) if name else None
    return CallFrame.model_validate(
        {
            "type": kind,
            "from": source,
            "to": target,
            "value": value,
            "input": selector + data,
            "output": output,
            "decoded": decoded,
            "calls": calls or [],
        }
    )


def eth(source: str, target: str, amount: int) -> TokenTransfer:
    return TokenTransfer.model_validate(
        {"standard": "ETH", "from": source, "to": target, "amount": amount}
    )


def result(
    trace: CallFrame,
    *,
    changes: dict[str, tuple[int, int]] | None = None,
    transfers: list[TokenTransfer] | None = None,
    storage: dict[str, tuple[dict[str, str], dict[str, str]]] | None = None,
) -> ReplayResult:
    """A ReplayResult around `trace`: `changes` maps address -> (ETH before, after)."""
    pre: dict[str, AccountState] = {}
    post: dict[str, AccountState] = {}
    balance_changes = []
    for address, (before, after) in (changes or {}).items():
        balance_changes.append(
            BalanceChange(
                address=address, asset="ETH", before=before, after=after, delta=after - before
            )
        )
        pre[address] = AccountState(balance=before)
        post[address] = AccountState(balance=after)
    for address, (old, new) in (storage or {}).items():
        pre.setdefault(address, AccountState()).storage.update(old)
        post.setdefault(address, AccountState()).storage.update(new)
    fields: dict[str, Any] = {
        "tx_hash": "0x" + "ab" * 32,
        "chain_id": 31337,
        "chain": "devnet",
        "block_number": 10,
        "tx_index": 0,
        "hardfork": "prague",
        "mode": "exact",
        "sender": trace.from_,
        "to": trace.to,
        "block_env": BlockEnv(number=10, timestamp=1, coinbase=COINBASE, gas_limit=30_000_000),
        "preceding_txs_replayed": 0,
        "original": None,
        "replayed": ReceiptSummary(status=1, gas_used=100_000),
        "fidelity": Fidelity(verdict="unverified"),
        "trace": trace,
        "state_diff": StateDiff(pre=pre, post=post),
        "token_transfers": transfers or [],
        "balance_changes": balance_changes,
        "rpc_requests": 0,
    }
    return ReplayResult(**fields)


def transfer_log(token: str, source: str, target: str, amount: int) -> LogEntry:
    """A decoded ERC-20 `Transfer` log emitted by `token`."""
    return LogEntry(
        address=token,
        topics=[],
        data="0x",
        event=DecodedEvent(
            signature="Transfer(address,address,uint256)",
            name="Transfer",
            args=[
                DecodedArg(name="from", type="address", value=source),
                DecodedArg(name="to", type="address", value=target),
                DecodedArg(name="value", type="uint256", value=amount),
            ],
        ),
    )
