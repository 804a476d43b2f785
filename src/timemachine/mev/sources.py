"""Trace sources: everything the inspectors read is a `Block` of Parity-style flat traces.

Adapters: a `trace_block` JSON document (the mev-inspect-py fixture layout, snake_case or
camelCase keys), geth `debug_traceBlockByNumber` with `callTracer` (flattened with Parity's error
wording), Time Machine's own replay results, and live RPC with either tracing method.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from timemachine.chain.hardforks import infer_hardfork_from_header
from timemachine.errors import (
    BlockNotFoundError,
    MethodUnavailableError,
    MevInputError,
    TraceApiUnavailableError,
)
from timemachine.mev.models import Block, Receipt, Trace
from timemachine.trace.flat import flat_trace

if TYPE_CHECKING:
    from timemachine.chain.rpc import RpcClient
    from timemachine.models import CallFrame, ReplayResult


class TraceSource(Protocol):
    """Anything that yields blocks of flat traces to inspect."""

    async def blocks(self, numbers: Sequence[int]) -> list[Block]: ...


def _int(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value, 16) if value.startswith(("0x", "0X")) else int(value or "0")
    raise ValueError(f"not a quantity: {value!r}")


def _lower(value: Any) -> str | None:
    return value.lower() if isinstance(value, str) else None


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a string")
    return value


MAX_BLOCK = 2**63 - 1
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _address(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValueError(f"{what} {str(value)[:50]!r} is not an address")
    return value.lower()


def _get(raw: Mapping[str, Any], snake: str, camel: str) -> Any:
    return raw[snake] if snake in raw else raw.get(camel)


def parse_trace(raw: Mapping[str, Any], block_number: int | None = None) -> Trace:
    """One Parity flat trace (snake_case or camelCase keys) as a `Trace`."""
    action = raw["action"]
    result = raw.get("result")
    kind = raw["type"]
    number = _get(raw, "block_number", "blockNumber")
    address = _get(raw, "trace_address", "traceAddress")
    sender: Any
    target: Any
    if kind == "call":
        sender, target = action["from"], action["to"]
        data = _text(action.get("input") or "0x", "input")
        value = _int(action.get("value"))
    elif kind == "create":
        sender = action.get("from")
        target = result.get("address") if isinstance(result, Mapping) else None
        data, value = _text(action.get("init") or "0x", "init"), _int(action.get("value"))
    elif kind == "suicide":
        sender, target = action.get("address"), action.get("refundAddress")
        data, value = "0x", _int(action.get("balance"))
    elif kind == "reward":
        sender, target = None, action.get("author")
        data, value = "0x", _int(action.get("value"))
    else:
        raise ValueError(f"unknown trace type {kind!r}")
    position = _get(raw, "transaction_position", "transactionPosition")
    tx_hash = _get(raw, "transaction_hash", "transactionHash")
    if kind != "reward" and not (isinstance(tx_hash, str) and _HASH.match(tx_hash)):
        raise ValueError(f"a {kind} trace without a transaction hash")
    if not isinstance(address, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in address
    ):
        raise ValueError("a trace without a trace address (a list of integers)")
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        raise ValueError("a transaction position that is not an integer")
    error = raw.get("error")
    if error is not None and not isinstance(error, str):
        raise ValueError("an error that is not a string")
    output = result.get("output") if isinstance(result, Mapping) else None
    if output is not None and not isinstance(output, str):
        raise ValueError("an output that is not a string")
    return Trace(
        block_number=_int(number) if number is not None else (block_number or 0),
        transaction_hash=tx_hash,
        transaction_position=position,
        trace_address=tuple(address),
        type=kind,
        call_type=action.get("callType"),
        from_address=_address(sender, "from"),
        to_address=_address(target, "to"),
        value=value,
        input=data,
        output=output,
        gas_used=_int(_get(result, "gas_used", "gasUsed")) if isinstance(result, Mapping) else None,
        error=error,
        subtraces=raw.get("subtraces", 0) if isinstance(raw.get("subtraces", 0), int) else 0,
    )


def parse_receipt(raw: Mapping[str, Any]) -> Receipt:
    return Receipt(
        transaction_hash=_text(_get(raw, "transaction_hash", "transactionHash"), "hash"),
        transaction_index=_int(_get(raw, "transaction_index", "transactionIndex")),
        gas_used=_int(_get(raw, "gas_used", "gasUsed")),
        effective_gas_price=_int(_get(raw, "effective_gas_price", "effectiveGasPrice")),
        to=_lower(raw.get("to")),
        from_address=_lower(raw.get("from")),
    )


def block_from_json(document: Any, *, source: str = "input") -> Block:
    """A `Block` from a decoded `trace_block` document: either the mev-inspect fixture object
    `{block_number, miner, base_fee_per_gas, traces, receipts}` or a bare list of traces."""
    try:
        header: Mapping[str, Any]
        if isinstance(document, list):
            raw_traces, header = document, {}
        elif isinstance(document, Mapping) and isinstance(document.get("traces"), list):
            raw_traces, header = document["traces"], document
        else:
            raise MevInputError(
                f"{source} is not a trace_block document (expected a list of traces or an "
                "object with a 'traces' list)"
            )
        number = _get(header, "block_number", "blockNumber")
        traces = [parse_trace(raw) for raw in raw_traces]
        if number is None:
            if not traces:
                raise MevInputError(f"{source} has no traces and no block number")
            number = traces[0].block_number
        if not 0 <= _int(number) <= MAX_BLOCK:
            raise MevInputError(f"{source}: block number {number} is out of range")
        receipts = [parse_receipt(raw) for raw in header.get("receipts") or []]
        timestamp = _get(header, "block_timestamp", "blockTimestamp")
        return Block(
            block_number=_int(number),
            miner=_lower(header.get("miner")),
            base_fee_per_gas=_int(_get(header, "base_fee_per_gas", "baseFeePerGas")),
            traces=traces,
            receipts=receipts,
            block_timestamp=_int(timestamp) if timestamp is not None else None,
        )
    except MevInputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MevInputError(
            f"{source} is not a valid trace_block document: {type(error).__name__}: {error}"
        ) from None


def load_block_file(path: Path) -> Block:
    """Read a block file; truncated or non-trace JSON raises MevInputError (one line)."""
    try:
        text = path.read_bytes()
    except OSError as error:
        raise MevInputError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise MevInputError(f"{path} is not valid JSON (truncated?): {error}") from None
    return block_from_json(document, source=str(path))


def _callframe_dict(frame: CallFrame) -> dict[str, Any]:
    return {
        "type": frame.type,
        "from": frame.from_,
        "to": frame.to,
        "value": hex(frame.value),
        "gas": hex(frame.gas),
        "gasUsed": hex(frame.gas_used),
        "input": frame.input,
        "output": frame.output,
        "error": frame.error,
        "calls": [_callframe_dict(child) for child in frame.calls],
    }


def flatten_calltracer(
    root: Mapping[str, Any],
    *,
    block_number: int,
    transaction_hash: str,
    transaction_position: int,
    hardfork: str = "cancun",
) -> list[Trace]:
    """A geth callTracer tree as Parity flat traces (geth's flatCallTracer semantics with
    `convertParityErrors`: "execution reverted" becomes "Reverted", and so on)."""
    flat = flat_trace(dict(root), hardfork, convert_parity_errors=True)
    for item in flat:
        item["transactionHash"] = transaction_hash
        item["transactionPosition"] = transaction_position
        item["blockNumber"] = block_number
    return [parse_trace(item) for item in flat]


def block_from_calltracer(
    results: Sequence[Mapping[str, Any]],
    *,
    block_number: int,
    miner: str | None = None,
    base_fee_per_gas: int = 0,
    receipts: Iterable[Receipt] = (),
    hardfork: str = "cancun",
) -> Block:
    """geth `debug_traceBlockByNumber(…, {tracer: "callTracer"})` output as a `Block`.

    Each item is `{txHash, result}` (geth ≥ 1.11) or a bare call frame (then hashes come from
    the receipts, in order)."""
    receipt_list = list(receipts)
    traces: list[Trace] = []
    for position, item in enumerate(results):
        if "result" in item and isinstance(item["result"], Mapping):
            root, tx_hash = item["result"], item.get("txHash")
        else:
            root, tx_hash = item, None
        if tx_hash is None and position < len(receipt_list):
            tx_hash = receipt_list[position].transaction_hash
        if tx_hash is None:
            raise MevInputError(f"callTracer result {position} has no transaction hash")
        traces.extend(
            flatten_calltracer(
                root,
                block_number=block_number,
                transaction_hash=tx_hash,
                transaction_position=position,
                hardfork=hardfork,
            )
        )
    return Block(block_number, _lower(miner), base_fee_per_gas, traces, receipt_list)


def block_from_replays(results: Sequence[ReplayResult]) -> Block:
    """Time Machine replay results (one block, or any simulated sequence) as a `Block`."""
    if not results:
        raise MevInputError("no replay results to inspect")
    traces: list[Trace] = []
    receipts: list[Receipt] = []
    for position, result in enumerate(results):
        traces.extend(
            flatten_calltracer(
                _callframe_dict(result.trace),
                block_number=result.block_number,
                transaction_hash=result.tx_hash,
                transaction_position=result.tx_index if result.tx_index >= 0 else position,
                hardfork=result.hardfork,
            )
        )
        # A replay result carries no gas price: priority fees of replayed txs count as 0 and
        # their miner payments are the coinbase transfers alone.
        receipts.append(
            Receipt(
                result.tx_hash,
                result.tx_index,
                result.replayed.gas_used,
                0,
                _lower(result.to),
                _lower(result.sender),
            )
        )
    first = results[0]
    return Block(
        first.block_number,
        _lower(first.block_env.coinbase),
        first.block_env.base_fee or 0,
        traces,
        receipts,
        first.block_env.timestamp,
    )


class RpcTraceSource:
    """Blocks from a live node: `trace_block` (Erigon, Reth, Nethermind, OpenEthereum) or, when
    the node lacks it, geth's `debug_traceBlockByNumber` with `callTracer`."""

    def __init__(self, rpc: RpcClient) -> None:
        self.rpc = rpc
        self._method: str | None = None

    async def block(self, number: int) -> Block:
        header = await self.rpc.call("eth_getBlockByNumber", [hex(number), False])
        if header is None:
            raise BlockNotFoundError(f"block {number} is not known to {self.rpc.label}")
        receipts_raw = await self._receipts(header)
        receipts = [parse_receipt(raw) for raw in receipts_raw]
        miner = header.get("miner")
        base_fee = _int(header.get("baseFeePerGas"))
        if self._method in (None, "trace_block"):
            try:
                raw = await self.rpc.call("trace_block", [hex(number)])
            except MethodUnavailableError:
                self._method = "debug"
            else:
                self._method = "trace_block"
                block = block_from_json(raw or [], source=f"trace_block({number})")
                block.block_number = number
                block.miner = _lower(miner)
                block.base_fee_per_gas = base_fee
                block.receipts = receipts
                block.block_timestamp = _int(header.get("timestamp"))
                return block
        try:
            raw_debug = await self.rpc.call(
                "debug_traceBlockByNumber", [hex(number), {"tracer": "callTracer"}]
            )
        except MethodUnavailableError:
            raise TraceApiUnavailableError(
                f"{self.rpc.label} has neither trace_block nor debug_traceBlockByNumber; use an "
                "archive node with the trace or debug API (Erigon, Reth, geth --gcmode archive)"
            ) from None
        block = block_from_calltracer(
            raw_debug or [],
            block_number=number,
            miner=miner,
            base_fee_per_gas=base_fee,
            receipts=receipts,
            hardfork=infer_hardfork_from_header(header),
        )
        block.block_timestamp = _int(header.get("timestamp"))
        return block

    async def blocks(self, numbers: Sequence[int]) -> list[Block]:
        return [await self.block(number) for number in numbers]

    async def _receipts(self, header: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        try:
            receipts = await self.rpc.call("eth_getBlockReceipts", [header["number"]])
            if isinstance(receipts, list):
                return receipts
        except MethodUnavailableError:
            pass  # an older node: one receipt per transaction, in one batch
        hashes = [
            tx if isinstance(tx, str) else tx["hash"] for tx in header.get("transactions") or []
        ]
        if not hashes:
            return []
        return await self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
