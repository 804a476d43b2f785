"""Range MEV inspection as a job, like a backfill: the range is checked against the node before
anything is stored or queued, then split into batches, one worker task each; progress and the
MEV found are published on the `mev` channel (`/ws/mev`)."""

from __future__ import annotations

from timemachine.chain.registry import configured_rpc_url
from timemachine.chain.rpc import RpcClient
from timemachine.errors import (
    BlockNotFoundError,
    BrokerUnavailableError,
    InvalidInputError,
    TimeMachineError,
    TraceApiUnavailableError,
)
from timemachine.logs import get_logger
from timemachine.mev import RpcTraceSource, inspect_block
from timemachine.mev.events import MEV_CHANNEL, mev_events
from timemachine.mev.models import BlockInspection
from timemachine.mev.prices import PairPrices, valued
from timemachine.orchestration.runtime import EngineRuntime, no_rpc_error
from timemachine.ports import EventBus, JobQueue
from timemachine.security.outbound import GuardedRpcClient, OutboundPolicy
from timemachine.settings import Settings
from timemachine.store import Database, MevJobs
from timemachine.store.mev_jobs import MevJobRecord, MevJobSpec, batch_range

MAX_RANGE = 10_000
"""Blocks one inspection (CLI run or job) may span."""
BATCH_TASK = "tasks.mev_tasks.inspect_batch"
log = get_logger(__name__)


def check_range(start: int, end: int) -> None:
    """[start, end) must hold at least one block and at most MAX_RANGE."""
    if not 0 <= start < end:
        raise InvalidInputError(
            f"block range {start}:{end} is empty or reversed; need 0 <= start < end "
            "(start inclusive, end exclusive)"
        )
    if end - start > MAX_RANGE:
        raise InvalidInputError(
            f"block range {start}:{end} spans {end - start:,} blocks; "
            f"inspect at most {MAX_RANGE:,} at a time"
        )


def node_client(url: str | None, chain_id: int, settings: Settings) -> RpcClient:
    """A user-supplied node through the outbound policy, else the chain's configured RPC."""
    if url is None:
        configured = configured_rpc_url(chain_id, settings)
        if configured is None:
            raise no_rpc_error(chain_id)
        return RpcClient(configured, timeout=settings.rpc_timeout, retries=settings.rpc_retries)
    return GuardedRpcClient(
        url,
        OutboundPolicy.from_settings(settings),
        timeout=settings.rpc_timeout,
        retries=settings.rpc_retries,
        backoff=settings.rpc_backoff,
    )


async def check_node(rpc: RpcClient, start: int, end: int) -> None:
    """The node knows every block of [start, end) and can trace them (tried on `start`)."""
    head = int(await rpc.call("eth_blockNumber", []), 16)
    if end - 1 > head:
        raise BlockNotFoundError(
            f"block {end - 1} is not known to {rpc.label} (its head is {head}); "
            "the end of a range is exclusive"
        )
    try:
        await RpcTraceSource(rpc).block(start)
    except TraceApiUnavailableError as error:
        raise InvalidInputError(str(error)) from None


def submit(db: Database, queue: JobQueue, *, owner: str, spec: MevJobSpec) -> MevJobRecord:
    """Create the job and queue one task per batch (task id: job id and batch index)."""
    with db.session() as s:
        record = MevJobs(s).create(owner=owner, **spec.model_dump())
    try:
        for index in range(record.batches_total):
            queue.enqueue(BATCH_TASK, [record.id, index], job_id=f"{record.id}-{index}", retry=True)
    except BrokerUnavailableError as exc:
        with db.session() as s:
            MevJobs(s).fail(record.id, f"could not queue the job: broker unavailable ({exc})")
        raise BrokerUnavailableError(
            "the task broker is unavailable; the job was marked failed, try again later"
        ) from exc
    return record


def run_batch(db: Database, engine: EngineRuntime, bus: EventBus, job_id: str, index: int) -> None:
    """Inspect batch `index` of the job; the last batch in stores the whole range. A failure
    fails the job (nothing of it is stored)."""
    with db.session() as s:
        jobs = MevJobs(s)
        record, url = jobs.require(job_id), jobs.rpc_url(job_id)
    if record.status in ("completed", "failed"):
        return
    try:
        results = engine.run(_inspect(engine, record, url, index))
        with db.session() as s:
            record, stored = MevJobs(s).store_batch(job_id, index, results)
    except TimeMachineError as exc:
        _fail(db, bus, job_id, index, str(exc))
        return
    except Exception as exc:
        _fail(db, bus, job_id, index, f"internal error: {type(exc).__name__}: {exc}")
        raise
    _publish(bus, record)
    for result in stored:
        for event in mev_events(record.chain_id, result):
            bus.publish(MEV_CHANNEL, event)


def _fail(db: Database, bus: EventBus, job_id: str, index: int, message: str) -> None:
    log.warning("MEV job batch failed", job_id=job_id, batch=index, error=message)
    with db.session() as s:
        _publish(bus, MevJobs(s).fail(job_id, message))


def _publish(bus: EventBus, record: MevJobRecord) -> None:
    bus.publish(MEV_CHANNEL, {"type": "mev_job"} | record.model_dump(mode="json"))


async def _inspect(
    engine: EngineRuntime, record: MevJobRecord, url: str | None, index: int
) -> list[BlockInspection]:
    if url is None:
        url = await engine.rpc_url(record.chain_id)
        client = RpcClient(url, timeout=engine.settings.rpc_timeout)
    else:
        client = node_client(url, record.chain_id, engine.settings)
    async with client:
        blocks = await RpcTraceSource(client).blocks(list(batch_range(record, index)))
        inspections = [inspect_block(block) for block in blocks]
        if record.price_token is None:
            return inspections
        pairs = PairPrices(client, record.price_token)
        return [await valued(inspection, pairs) for inspection in inspections]
