"""Batch replay: many mined transactions, each in exact mode, compared with what really happened.

Transactions are located with batched `eth_getTransactionByHash` and grouped by block. Each block
is re-executed once on a (warm, reused) fork at its parent: its transactions in order up to the
last one of the batch, in one mined block with the original environment — so every batch
transaction of that block runs after exactly the block's earlier transactions, as in an exact
`replay`, and is traced and judged against its original receipt. A block that cannot be
executed as a whole falls back to one exact replay per transaction. One transaction's failure
never stops the batch: it becomes a `failed` row with its one-line error.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from timemachine.chain.blocks import quantity
from timemachine.errors import InvalidInputError, RpcError, TimeMachineError
from timemachine.models import ReplayResult
from timemachine.models.tx_imports import BatchReport, BatchRow, BatchTarget, ReasonCount
from timemachine.replay.engine import ReplayEngine
from timemachine.replay.source import OriginalTx

LOOKUP_BATCH = 100  # eth_getTransactionByHash calls per HTTP request
MAX_CONCURRENCY = 16

BatchProgress = Callable[[int, int], None]
"""Called with (transactions finished, transactions in the batch)."""

Outcome = ReplayResult | str
"""A replay result, or the one-line reason the transaction could not be replayed."""


async def replay_batch(
    engine: ReplayEngine,
    targets: Sequence[BatchTarget],
    *,
    concurrency: int = 1,
    progress: BatchProgress | None = None,
) -> BatchReport:
    """Replay every target (exact mode) and report exact / diverged / failed with reasons."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInputError(f"concurrency must be between 1 and {MAX_CONCURRENCY}")
    started = time.perf_counter()
    keyed: dict[tuple[int | None, str], BatchTarget] = {}
    for target in targets:
        keyed.setdefault((target.chain_id, target.hash.strip().lower()), target)
    unique = list(keyed.values())
    if not unique:
        raise InvalidInputError("the batch holds no transactions")
    chain_id = quantity(await engine.upstream.call("eth_chainId"))
    outcomes: dict[str, Outcome] = {}
    located = await _locate(engine, unique, chain_id, outcomes)
    groups: dict[int, list[dict[str, Any]]] = {}
    for tx in located:
        groups.setdefault(quantity(tx["blockNumber"]), []).append(tx)
    done = len(unique) - len(located)
    if progress is not None:
        progress(done, len(unique))
    gate = asyncio.Semaphore(concurrency)

    async def run(number: int, txs: list[dict[str, Any]]) -> None:
        nonlocal done
        async with gate:
            results = await _replay_block_safely(engine, chain_id, number, txs)
        outcomes.update(results)
        done += len(results)
        if progress is not None:
            progress(done, len(unique))

    await asyncio.gather(*(run(number, groups[number]) for number in sorted(groups)))
    rows = [
        _row(target, _mismatch(target, chain_id, engine) or outcomes[target.hash.strip().lower()])
        for target in unique
    ]
    return _report(rows, time.perf_counter() - started, blocks=len(groups), concurrency=concurrency)


async def _locate(
    engine: ReplayEngine,
    targets: Sequence[BatchTarget],
    chain_id: int,
    outcomes: dict[str, Outcome],
) -> list[dict[str, Any]]:
    """The mined transaction of each target; the others get their reason in `outcomes`."""
    label = engine.upstream.label
    wanted: list[str] = []
    seen: set[str] = set()
    for target in targets:
        key = target.hash.strip().lower()
        if _mismatch(target, chain_id, engine) or key in seen:
            continue
        seen.add(key)
        if len(key) != 66:
            outcomes[key] = f"not a transaction hash: {target.hash!r}"
        else:
            wanted.append(key)
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), LOOKUP_BATCH):
        chunk = wanted[start : start + LOOKUP_BATCH]
        answers = await engine.upstream.batch_settled(
            [("eth_getTransactionByHash", [h]) for h in chunk]
        )
        for tx_hash, answer in zip(chunk, answers, strict=True):
            if isinstance(answer, RpcError):
                outcomes[tx_hash] = answer.message
            elif answer is None:
                outcomes[tx_hash] = f"transaction {tx_hash} is unknown to {label}"
            elif answer.get("blockNumber") is None:
                outcomes[tx_hash] = f"transaction {tx_hash} is still pending"
            else:
                found.append(answer)
    return found


def _mismatch(target: BatchTarget, chain_id: int, engine: ReplayEngine) -> str | None:
    """Why a target of another chain than the upstream's is not replayed (None: same chain)."""
    if target.chain_id is None or target.chain_id == chain_id:
        return None
    return (
        f"imported for chain {target.chain_id}, but {engine.upstream.label} serves chain "
        f"{chain_id}; replay it against an RPC of its chain"
    )


async def _replay_block_safely(
    engine: ReplayEngine, chain_id: int, number: int, txs: list[dict[str, Any]]
) -> dict[str, Outcome]:
    """The block's batch transactions replayed together; one by one if the block fails."""
    txs = sorted(txs, key=lambda tx: quantity(tx["transactionIndex"]))
    try:
        return await replay_block(engine, chain_id, txs)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # noqa: BLE001 - one block's failure never stops the batch
        if len(txs) == 1:
            return {txs[0]["hash"].lower(): _reason(error)}
    outcomes: dict[str, Outcome] = {}
    for tx in txs:
        try:
            outcomes[tx["hash"].lower()] = await engine.replay_transaction(tx["hash"])
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - one tx's failure never stops the batch
            outcomes[tx["hash"].lower()] = _reason(error)
    return outcomes


def _reason(error: Exception) -> str:
    if isinstance(error, TimeMachineError):
        return str(error)
    return f"internal error: {type(error).__name__}: {error}"


async def replay_block(
    engine: ReplayEngine, chain_id: int, txs: Sequence[dict[str, Any]]
) -> dict[str, Outcome]:
    """Exact replays of `txs` (mined transactions of one block, in index order) on one fork.

    The last one goes through the engine's own exact replay; the others, which ran before it
    in that same mined block, are traced and judged on its fork before the fork is released.
    """
    outcomes: dict[str, Outcome] = {}

    def failed(original: OriginalTx, reason: str) -> None:
        outcomes[original.info.hash.lower()] = reason

    results = await engine.replay_in_block(
        txs[-1]["hash"],
        also=[quantity(tx["transactionIndex"]) for tx in txs[:-1]],
        on_failure=failed,
    )
    outcomes.update({result.tx_hash.lower(): result for result in results})
    return outcomes


def _row(target: BatchTarget, outcome: Outcome) -> BatchRow:
    if isinstance(outcome, str):
        return BatchRow(
            hash=target.hash.strip().lower(),
            label=target.label,
            block=target.block,
            verdict="failed",
            error=outcome,
        )
    return BatchRow(
        hash=outcome.tx_hash.lower(),
        label=target.label,
        block=outcome.block_number,
        index=outcome.tx_index,
        verdict=outcome.fidelity.verdict,
        status=outcome.replayed.status,
        gas_original=outcome.original.gas_used if outcome.original is not None else None,
        gas_replayed=outcome.replayed.gas_used,
        differences=[f"{d.field}: {d.explanation}" for d in outcome.fidelity.differences],
    )


def _report(rows: list[BatchRow], elapsed: float, *, blocks: int, concurrency: int) -> BatchReport:
    verdicts = Counter(row.verdict for row in rows)
    divergences = Counter(
        difference.split(":", 1)[0] for row in rows for difference in row.differences
    )
    failures = Counter(row.error for row in rows if row.error is not None)
    replayed = len(rows) - verdicts["failed"]
    return BatchReport(
        total=len(rows),
        exact=verdicts["exact"],
        diverged=verdicts["diverged"],
        unverified=verdicts["unverified"],
        failed=verdicts["failed"],
        divergence_reasons=[ReasonCount(reason=r, count=c) for r, c in divergences.most_common()],
        failure_reasons=[ReasonCount(reason=r, count=c) for r, c in failures.most_common()],
        elapsed_seconds=round(elapsed, 3),
        replays_per_second=round(replayed / elapsed, 2) if elapsed > 0 else 0.0,
        blocks=blocks,
        concurrency=concurrency,
        rows=rows,
    )
