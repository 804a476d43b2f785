"""JSON-RPC answers (hex strings) turned into dataset columns (Python values, cryo's semantics).

Each function returns `Columns`: column name → values, for the columns of `schemas.DATASETS` (u256
columns hold ints here; the writer expands them per `--u256-types`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from timemachine.archive.schemas import DATASETS
from timemachine.hexutil import parse_int

Columns = dict[str, list[Any]]
CALL_TYPES = {"staticcall": "static_call", "delegatecall": "delegate_call", "callcode": "call_code"}
"""Parity call types as cryo spells them (ethers' CallType names)."""
RpcObject = Mapping[str, Any]


def empty(dataset: str) -> Columns:
    return {name: [] for name, _ in DATASETS[dataset].columns}


def _bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    text = str(value)
    return bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)


def _int(value: Any) -> int | None:
    """A JSON-RPC quantity; the hot path (a 0x-hex string) skips `parse_int`'s generality."""
    if value is None:
        return None
    if isinstance(value, str) and value[:2] == "0x":
        return int(value, 16)
    return parse_int(value)


def block_rows(blocks: Iterable[RpcObject], chain_id: int) -> Columns:
    out = empty("blocks")
    for block in blocks:
        out["block_hash"].append(_bytes(block.get("hash")))
        out["author"].append(_bytes(block.get("miner")))
        out["block_number"].append(_int(block.get("number")))
        out["gas_used"].append(_int(block["gasUsed"]))
        out["extra_data"].append(_bytes(block.get("extraData") or "0x"))
        out["timestamp"].append(_int(block["timestamp"]))
        out["base_fee_per_gas"].append(_int(block.get("baseFeePerGas")))
        out["chain_id"].append(chain_id)
    return out


def transaction_rows(
    blocks: Iterable[RpcObject], receipts: Mapping[str, RpcObject], chain_id: int
) -> Columns:
    """Transactions of full blocks; `receipts` by lower-case transaction hash."""
    out = empty("transactions")
    for block in blocks:
        for tx in block.get("transactions") or []:
            receipt = receipts[str(tx["hash"]).lower()]
            data = _bytes(tx.get("input") or tx.get("data") or "0x") or b""
            zeros = data.count(0)
            kind = _int(tx.get("type")) or 0
            out["block_number"].append(_int(tx.get("blockNumber")))
            out["transaction_index"].append(_int(tx.get("transactionIndex")))
            out["transaction_hash"].append(_bytes(tx["hash"]))
            out["nonce"].append(_int(tx["nonce"]))
            out["from_address"].append(_bytes(tx["from"]))
            out["to_address"].append(_bytes(tx.get("to")))
            out["value"].append(_int(tx.get("value")) or 0)
            out["input"].append(data)
            out["gas_limit"].append(_int(tx["gas"]))
            out["gas_used"].append(_int(receipt.get("gasUsed")))
            out["gas_price"].append(_int(tx.get("gasPrice")))
            out["transaction_type"].append(kind)
            out["max_priority_fee_per_gas"].append(_int(tx.get("maxPriorityFeePerGas")))
            out["max_fee_per_gas"].append(_int(tx.get("maxFeePerGas")) if kind >= 2 else None)
            out["success"].append(_int(receipt.get("status")) == 1)
            out["n_input_bytes"].append(len(data))
            out["n_input_zero_bytes"].append(zeros)
            out["n_input_nonzero_bytes"].append(len(data) - zeros)
            out["chain_id"].append(chain_id)
    return out


def log_rows(logs: Iterable[RpcObject], chain_id: int) -> Columns:
    out = empty("logs")
    for log in logs:
        if log.get("removed"):
            continue
        topics: Sequence[Any] = log.get("topics") or []
        out["block_number"].append(_int(log["blockNumber"]))
        out["transaction_index"].append(_int(log["transactionIndex"]))
        out["log_index"].append(_int(log["logIndex"]))
        out["transaction_hash"].append(_bytes(log["transactionHash"]))
        out["address"].append(_bytes(log["address"]))
        for position in range(4):
            topic = topics[position] if position < len(topics) else None
            out[f"topic{position}"].append(_bytes(topic))
        out["data"].append(_bytes(log.get("data") or "0x"))
        out["chain_id"].append(chain_id)
    return out


def trace_rows(traces: Iterable[RpcObject], chain_id: int) -> Columns:
    """Parity flat traces (`trace_block`, or a callTracer tree flattened the same way) as rows:
    the action and result fields cryo keeps, per action type."""
    out = empty("traces")
    for trace in traces:
        action: RpcObject = trace.get("action") or {}
        result: RpcObject = trace.get("result") or {}
        kind = str(trace["type"])
        sender, target = action.get("from"), action.get("to")
        value = action.get("value")
        if kind == "suicide":
            sender, target = action.get("address"), action.get("refundAddress")
            value = action.get("balance")
        elif kind == "reward":
            sender, target = action.get("author"), None
        out["action_from"].append(_bytes(sender))
        out["action_to"].append(_bytes(target))
        out["action_value"].append(str(_int(value) or 0))
        out["action_gas"].append(_int(action.get("gas")) if kind in ("call", "create") else None)
        out["action_input"].append(_bytes(action.get("input") or "0x") if kind == "call" else None)
        call_type = str(action.get("callType")) if kind == "call" else None
        out["action_call_type"].append(call_type and CALL_TYPES.get(call_type, call_type))
        out["action_init"].append(_bytes(action.get("init") or "0x") if kind == "create" else None)
        out["action_reward_type"].append(action.get("rewardType") if kind == "reward" else None)
        out["action_type"].append(kind)
        has_result = bool(trace.get("result"))
        out["result_gas_used"].append(_int(result.get("gasUsed")) if has_result else None)
        is_call = has_result and kind == "call"
        is_create = has_result and kind == "create"
        out["result_output"].append(_bytes(result.get("output") or "0x") if is_call else None)
        out["result_code"].append(_bytes(result.get("code") or "0x") if is_create else None)
        out["result_address"].append(_bytes(result.get("address")) if is_create else None)
        out["trace_address"].append("_".join(str(i) for i in trace.get("traceAddress") or []))
        out["subtraces"].append(_int(trace.get("subtraces")) or 0)
        out["transaction_index"].append(_int(trace.get("transactionPosition")))
        out["transaction_hash"].append(_bytes(trace.get("transactionHash")))
        out["block_number"].append(_int(trace["blockNumber"]))
        out["block_hash"].append(_bytes(trace.get("blockHash")))
        out["error"].append(trace.get("error"))
        out["chain_id"].append(chain_id)
    return out


def diff_rows(
    block_number: int,
    replays: Sequence[RpcObject],
    chain_id: int,
    balances: Columns,
    storage: Columns,
) -> None:
    """Append the balance and storage changes of one block's `trace_replayBlockTransactions`
    (`stateDiff`) answer; accounts and slots in ascending order, as cryo writes them."""
    for index, replay in enumerate(replays):
        tx_hash = _bytes(replay.get("transactionHash"))
        state: Mapping[str, RpcObject] = replay.get("stateDiff") or {}
        for address in sorted(state, key=str.lower):
            account = state[address]
            change = _change(account.get("balance"))
            if change is not None:
                for name, value in (
                    ("block_number", block_number),
                    ("transaction_index", index),
                    ("transaction_hash", tx_hash),
                    ("address", _bytes(address)),
                    ("from_value", parse_int(change[0])),
                    ("to_value", parse_int(change[1])),
                    ("chain_id", chain_id),
                ):
                    balances[name].append(value)
            slots: Mapping[str, Any] = account.get("storage") or {}
            for slot in sorted(slots, key=str.lower):
                change = _change(slots[slot])
                if change is None:
                    continue
                for name, value in (
                    ("block_number", block_number),
                    ("transaction_index", index),
                    ("transaction_hash", tx_hash),
                    ("address", _bytes(address)),
                    ("slot", _bytes(slot)),
                    ("from_value", _word(change[0])),
                    ("to_value", _word(change[1])),
                    ("chain_id", chain_id),
                ):
                    storage[name].append(value)


_ZERO = "0x0"


def _change(diff: Any) -> tuple[str, str] | None:
    """A Parity state diff entry (`"="`, `{"+": v}`, `{"-": v}`, `{"*": {from, to}}`) as
    (from, to); None when unchanged."""
    if not isinstance(diff, Mapping):
        return None
    if "+" in diff:
        return _ZERO, str(diff["+"])
    if "-" in diff:
        return str(diff["-"]), _ZERO
    if "*" in diff:
        return str(diff["*"]["from"]), str(diff["*"]["to"])
    return None


def _word(value: str) -> bytes:
    return parse_int(value).to_bytes(32, "big")


def parity_state_diff(prestate: RpcObject) -> dict[str, dict[str, Any]]:
    """geth's prestateTracer `diffMode` result (`pre`/`post`) in Parity's `stateDiff` form, as
    `diff_rows` reads it: an account only in `post` is born (`+`), one only in `pre` died (`-`),
    any other changed balance or slot is `*`; a slot missing from `post` was set to zero."""
    pre: Mapping[str, RpcObject] = prestate.get("pre") or {}
    post: Mapping[str, RpcObject] = prestate.get("post") or {}
    out: dict[str, dict[str, Any]] = {}
    for address in set(pre) | set(post):
        before, after = pre.get(address), post.get(address)
        if before is None:
            born = after or {}
            out[address] = {
                "balance": {"+": born.get("balance", _ZERO)},
                "storage": {
                    slot: {"+": value} for slot, value in (born.get("storage") or {}).items()
                },
            }
            continue
        if after is None:
            out[address] = {
                "balance": {"-": before.get("balance", _ZERO)},
                "storage": {slot: {"-": v} for slot, v in (before.get("storage") or {}).items()},
            }
            continue
        account: dict[str, Any] = {"balance": "=", "storage": {}}
        if "balance" in after and parse_int(after["balance"]) != parse_int(before.get("balance")):
            account["balance"] = {
                "*": {"from": before.get("balance", _ZERO), "to": after["balance"]}
            }
        old: Mapping[str, Any] = before.get("storage") or {}
        new: Mapping[str, Any] = after.get("storage") or {}
        for slot in set(old) | set(new):
            start, end = old.get(slot, _ZERO), new.get(slot, _ZERO)
            if parse_int(start) != parse_int(end):
                account["storage"][slot] = {"*": {"from": start, "to": end}}
        out[address] = account
    return out
