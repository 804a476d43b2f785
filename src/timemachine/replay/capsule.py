"""Capsules in the engine: capture one from a replay on a fork, and replay one with no network.

Capture: after the block is re-executed on the fork, the fork's own prestateTracer over that block
gives every account and slot the transactions touched; merged (first sighting = start-of-block
value) and completed with the nonces and balances tracers omit, it is the prestate at the parent
block. Replay: a fresh anvil whose genesis *is* that parent state (number, time, gas limit, base
fee, accounts), the capsule's hardfork and chain id; then the same block execution and tracing as
a fork replay, judged against the outcome the capsule recorded.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from timemachine.chain.blocks import parse_transaction, quantity
from timemachine.chain.registry import get_chain
from timemachine.chain.rpc import Call
from timemachine.forks.manager import REPLAY_ARGS, Fork, ForkManager, ForkSpec
from timemachine.models import Difference, ReceiptSummary, ReplayResult
from timemachine.models.capsule import (
    Capsule,
    CapsuleAccount,
    CapsuleOutcome,
    CapsuleTransaction,
)
from timemachine.replay.assemble import build_result
from timemachine.replay.block import ExecutedBlock, execute_block, nonce_calls
from timemachine.replay.environment import env_differences
from timemachine.replay.fidelity import compare_receipts
from timemachine.replay.prefetch import PRESTATE_TRACER, complete_accounts, merge_prestates
from timemachine.replay.stopwatch import Stopwatch
from timemachine.replay.submit import send_params
from timemachine.replay.trace_compare import trace_digest
from timemachine.replay.tracing import trace_transaction
from timemachine.trace.decoder import Decoder


async def capture_accounts(
    fork: Fork, executed: ExecutedBlock, parent: int
) -> dict[str, CapsuleAccount]:
    """The parent-block state of every account and slot the replayed block touched."""
    block = hex(quantity(executed.block["number"]))
    with fork.crash_guard("capturing the prestate"):
        traces = await fork.rpc.call("debug_traceBlockByNumber", [block, PRESTATE_TRACER])
        merged = merge_prestates(traces, len(executed.hashes))
        seeds = await complete_accounts(fork.rpc, merged, parent)
    return {
        address: CapsuleAccount(
            balance=seed.balance or 0,
            nonce=seed.nonce or 0,
            code=seed.code or "0x",
            storage=dict(seed.storage or {}),
        )
        for address, seed in sorted(seeds.items())
    }


def build_capsule(
    result: ReplayResult,
    transactions: list[dict[str, Any]],
    accounts: dict[str, CapsuleAccount],
    source: dict[str, str],
) -> Capsule:
    """A capsule of `result`'s block prefix, expecting what the original receipt recorded."""
    original = result.original or result.replayed
    return Capsule(
        chain_id=result.chain_id,
        hardfork=result.hardfork,
        block_env=result.block_env,
        accounts=accounts,
        transactions=[CapsuleTransaction(hash=tx["hash"], fields=tx) for tx in transactions],
        expected=CapsuleOutcome(
            status=1 if original.status else 0,
            gas_used=original.gas_used,
            logs=original.logs,
            contract_address=original.contract_address,
            trace_digest=trace_digest(result.trace),
        ),
        source=source,
    )


async def replay_capsule(capsule: Capsule, forks: ForkManager, decoder: Decoder) -> ReplayResult:
    """Replay a capsule on a fresh anvil built from its state; no network is involved."""
    clock = Stopwatch()
    env = capsule.block_env
    with _genesis_file(capsule) as genesis, clock.stage("fork"):
        spec = ForkSpec(
            hardfork=capsule.hardfork, extra_args=(*REPLAY_ARGS, "--init", str(genesis))
        )
        fork = await forks.acquire(spec)
    try:
        with clock.stage("execute"):
            executed = await execute_block(fork, env, *_submissions(capsule))
            target_tx = await fork.rpc.call("eth_getTransactionByHash", [executed.hashes[-1]])
        with clock.stage("trace"):
            traced = await trace_transaction(
                fork,
                decoder,
                replay_hash=executed.hashes[-1],
                receipt=executed.receipts[-1],
                tx_gas=quantity(target_tx["gas"]),
                block_tag=hex(quantity(executed.block["number"])),
                balances_final=True,
            )
    finally:
        await forks.release(fork, keep_warm=False)
    expected = capsule.expected
    original = ReceiptSummary(
        status=expected.status,
        gas_used=expected.gas_used,
        logs=expected.logs,
        contract_address=expected.contract_address,
    )
    digest_differences: list[Difference] | None = None
    if expected.trace_digest is not None:
        replayed_digest = trace_digest(traced.trace)
        digest_differences = []
        if replayed_digest != expected.trace_digest:
            digest_differences.append(
                Difference(
                    field="trace_digest",
                    original=expected.trace_digest,
                    replayed=replayed_digest,
                    explanation="the call tree differs from the one recorded in the capsule",
                )
            )
    preceding = len(capsule.transactions) - 1
    return build_result(
        info=parse_transaction({**target_tx, "hash": capsule.target.hash}),
        chain_id=capsule.chain_id,
        chain=get_chain(capsule.chain_id),
        hardfork=capsule.hardfork,
        mode="exact",
        env=env,
        index=preceding,
        preceding=preceding,
        original=original,
        fidelity=compare_receipts(
            original, traced.receipt, env_differences(env, executed.block), digest_differences
        ),
        traced=traced,
        timings=clock.result(),
        rpc_requests=0,
    )


def _submissions(capsule: Capsule) -> tuple[list[Call], list[Call]]:
    impersonated = [tx.fields for tx in capsule.transactions if tx.fields is not None]
    setup: list[Call] = [("anvil_autoImpersonateAccount", [True]), *nonce_calls(impersonated)]
    submissions: list[Call] = [
        ("eth_sendRawTransaction", [tx.raw])
        if tx.raw is not None
        else ("eth_sendTransaction", [send_params(tx.fields or {})])
        for tx in capsule.transactions
    ]
    return setup, submissions


@contextmanager
def _genesis_file(capsule: Capsule) -> Iterator[Path]:
    """A genesis.json whose block is the capsule's parent block and whose alloc is its state."""
    env = capsule.block_env
    genesis: dict[str, Any] = {
        "config": {"chainId": capsule.chain_id},
        "number": hex(max(env.number - 1, 0)),
        "timestamp": hex(max(env.timestamp - 1, 0)),
        "gasLimit": hex(env.gas_limit),
        "difficulty": hex(env.difficulty),
        "coinbase": env.coinbase,
        "extraData": "0x",
        "alloc": {
            address: {
                "balance": hex(account.balance),
                "nonce": hex(account.nonce),
                "code": account.code,
                "storage": account.storage,
            }
            for address, account in capsule.accounts.items()
        },
    }
    if env.base_fee is not None:
        genesis["baseFeePerGas"] = hex(env.base_fee)
    with tempfile.TemporaryDirectory(prefix="timemachine-capsule-") as folder:
        path = Path(folder) / "genesis.json"
        path.write_text(json.dumps(genesis))
        yield path
