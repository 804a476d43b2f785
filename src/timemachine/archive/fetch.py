"""One chunk's data from the chain: every RPC answer fetched once, shared by its datasets.

Calls go out in JSON-RPC batches (`BATCH` calls per HTTP request) through the caller's client —
a `ProviderPool` in the CLI, so its failover, per-provider concurrency and rate limits apply.
Traces come from `trace_block` or, on nodes without it, geth's `debug_traceBlockByNumber`
(callTracer, flattened with `trace.flat`, Parity's error wording); state diffs from
`trace_replayBlockTransactions` (`stateDiff`), as cryo reads them, or geth's prestateTracer in
diffMode.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from timemachine.archive.layout import BlockRange
from timemachine.archive.rows import (
    Columns,
    block_rows,
    diff_rows,
    empty,
    log_rows,
    parity_state_diff,
    trace_rows,
    transaction_rows,
)
from timemachine.archive.schemas import Dataset
from timemachine.chain.hardforks import infer_hardfork_from_header
from timemachine.chain.rpc import Call
from timemachine.errors import BlockNotFoundError, MethodUnavailableError, TraceApiUnavailableError
from timemachine.hexutil import parse_int
from timemachine.ports import ChainRPC
from timemachine.trace.flat import flat_trace

BATCH = 200
"""Calls per JSON-RPC batch request (measured: per-request overhead dominates below ~100); a
chunk's batches go out concurrently (the provider pool bounds how many are in flight)."""
HEAVY_BATCH = 25
"""For calls that re-execute whole blocks (state diffs, geth tracers): a batch must answer within
the provider's timeout."""
HEAVY = frozenset({"debug_traceBlockByNumber", "trace_replayBlockTransactions"})


@dataclass
class Timings:
    """Seconds spent per kind of work (the run report's "where the time goes")."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, what: str, started: float) -> None:
        self.seconds[what] = self.seconds.get(what, 0.0) + time.perf_counter() - started


class ChunkFetcher:
    """The RPC data of one block range, fetched lazily and at most once."""

    def __init__(
        self,
        rpc: ChainRPC,
        blocks: BlockRange,
        chain_id: int,
        timings: Timings | None = None,
        *,
        full_blocks: bool = False,
    ) -> None:
        """`full_blocks`: fetch blocks with their transactions from the start (when a dataset
        of the run needs them), so blocks are never fetched twice."""
        self.rpc = rpc
        self.range = blocks
        self.chain_id = chain_id
        self.timings = timings or Timings()
        self.full_blocks = full_blocks
        self._blocks: list[dict[str, Any]] | None = None
        self._full = False
        self._diffs: tuple[Columns, Columns] | None = None

    async def columns(self, dataset: Dataset) -> Columns:
        """The rows of `dataset` for this chunk."""
        name = dataset.name
        self.full_blocks |= "full_blocks" in dataset.needs
        if name == "blocks":
            return self._timed("transform", block_rows, await self.blocks(), self.chain_id)
        if name == "transactions":
            blocks = await self.blocks()
            receipts = await self.receipts(blocks)
            return self._timed("transform", transaction_rows, blocks, receipts, self.chain_id)
        if name == "logs":
            return self._timed("transform", log_rows, await self.logs(), self.chain_id)
        if name == "traces":
            return self._timed("transform", trace_rows, await self.traces(), self.chain_id)
        balances, storage = await self.diffs()
        return balances if name == "balance_diffs" else storage

    def _timed(self, what: str, function: Any, *args: Any) -> Columns:
        started = time.perf_counter()
        try:
            result: Columns = function(*args)
            return result
        finally:
            self.timings.add(what, started)

    async def _batch(self, what: str, calls: Sequence[Call]) -> list[Any]:
        started = time.perf_counter()
        try:
            size = HEAVY_BATCH if what in HEAVY else BATCH
            pieces = [calls[first : first + size] for first in range(0, len(calls), size)]
            answers = await asyncio.gather(*(self.rpc.batch(piece) for piece in pieces))
            return [result for answer in answers for result in answer]
        finally:
            self.timings.add(f"rpc {what}", started)

    async def blocks(self) -> list[dict[str, Any]]:
        if self._blocks is None or (self.full_blocks and not self._full):
            numbers = range(self.range.start, self.range.end)
            full = self.full_blocks
            calls = [("eth_getBlockByNumber", [hex(n), full]) for n in numbers]
            found = await self._batch("eth_getBlockByNumber", calls)
            missing = [n for n, block in zip(numbers, found, strict=True) if block is None]
            if missing:
                raise BlockNotFoundError(
                    f"block {missing[0]} does not exist on {self.rpc.label}; extract blocks up "
                    "to the chain head"
                )
            self._blocks, self._full = found, full
        return self._blocks

    async def receipts(self, blocks: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        with_txs = [block for block in blocks if block.get("transactions")]
        calls = [("eth_getBlockReceipts", [block["number"]]) for block in with_txs]
        answers = await self._batch("eth_getBlockReceipts", calls)
        return {
            str(receipt["transactionHash"]).lower(): receipt
            for answer in answers
            for receipt in answer or []
        }

    async def logs(self) -> list[dict[str, Any]]:
        bounds = {"fromBlock": hex(self.range.start), "toBlock": hex(self.range.end - 1)}
        answers = await self._batch("eth_getLogs", [("eth_getLogs", [bounds])])
        logs: list[dict[str, Any]] = answers[0] or []
        return logs

    async def traces(self) -> list[dict[str, Any]]:
        numbers = range(self.range.start, self.range.end)
        try:
            answers = await self._batch("trace_block", [("trace_block", [hex(n)]) for n in numbers])
        except MethodUnavailableError:
            return await self._debug_traces()
        return [trace for answer in answers for trace in answer or []]

    async def _debug_traces(self) -> list[dict[str, Any]]:
        blocks = await self.blocks()
        calls = [
            ("debug_traceBlockByNumber", [block["number"], {"tracer": "callTracer"}])
            for block in blocks
        ]
        try:
            answers = await self._batch("debug_traceBlockByNumber", calls)
        except MethodUnavailableError:
            raise TraceApiUnavailableError(
                f"{self.rpc.label} has neither trace_block nor debug_traceBlockByNumber; "
                "traces need a node with the trace or debug API"
            ) from None
        traces: list[dict[str, Any]] = []
        for block, answer in zip(blocks, answers, strict=True):
            hardfork = infer_hardfork_from_header(block)
            for position, (tx, item) in enumerate(
                zip(block["transactions"], answer or [], strict=True)
            ):
                root = dict(item.get("result", item))
                flats = flat_trace(
                    root, hardfork, include_precompiles=True, convert_parity_errors=True
                )
                for flat in flats:
                    flat.update(
                        transactionHash=tx if isinstance(tx, str) else tx["hash"],
                        transactionPosition=position,
                        blockNumber=parse_int(block["number"]),
                        blockHash=block["hash"],
                    )
                traces.extend(flats)
        return traces

    async def diffs(self) -> tuple[Columns, Columns]:
        if self._diffs is None:
            self._diffs = await self._fetch_diffs()
        return self._diffs

    async def _prestate_diffs(self) -> list[list[dict[str, Any]]]:
        """geth's prestateTracer in diffMode, per block, as Parity replays (`stateDiff`)."""
        config = {"tracer": "prestateTracer", "tracerConfig": {"diffMode": True}}
        blocks = await self.blocks()
        calls = [("debug_traceBlockByNumber", [block["number"], config]) for block in blocks]
        try:
            answers = await self._batch("debug_traceBlockByNumber", calls)
        except MethodUnavailableError:
            raise TraceApiUnavailableError(
                f"{self.rpc.label} offers neither trace_replayBlockTransactions nor "
                "debug_traceBlockByNumber; balance_diffs and storage_diffs need the trace or "
                "debug API"
            ) from None
        return [
            [
                {
                    "transactionHash": tx if isinstance(tx, str) else tx["hash"],
                    "stateDiff": parity_state_diff(item.get("result", item)),
                }
                for tx, item in zip(block["transactions"], answer or [], strict=True)
            ]
            for block, answer in zip(blocks, answers, strict=True)
        ]

    async def _fetch_diffs(self) -> tuple[Columns, Columns]:
        numbers = range(self.range.start, self.range.end)
        calls = [("trace_replayBlockTransactions", [hex(n), ["stateDiff"]]) for n in numbers]
        try:
            answers = await self._batch("trace_replayBlockTransactions", calls)
        except MethodUnavailableError:
            answers = await self._prestate_diffs()
        balances, storage = empty("balance_diffs"), empty("storage_diffs")
        started = time.perf_counter()
        for number, answer in zip(numbers, answers, strict=True):
            diff_rows(number, answer or [], self.chain_id, balances, storage)
        self.timings.add("transform", started)
        return balances, storage
