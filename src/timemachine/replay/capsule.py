"""Capsules in the engine: capture one from a replay on a fork, and replay one with no network.

Capture: after the block is re-executed on the fork, the fork's own prestateTracer over that block
gives every account and slot the transactions touched; merged (first sighting = start-of-block
value) and completed with the nonces and balances tracers omit, it is the prestate at the parent
block. Replay: a fresh anvil whose genesis *is* that parent state (number, time, gas limit, base
fee, accounts), the capsule's hardfork and chain id; then the same block execution and tracing as
a fork replay, judged against the outcome the capsule recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from timemachine.chain.blocks import parse_transaction, quantity
from timemachine.chain.registry import get_chain
from timemachine.chain.rpc import Call
from timemachine.models import Difference, ReceiptSummary, ReplayResult
from timemachine.models.capsule import (
    Capsule,
    CapsuleAccount,
    CapsuleOutcome,
    CapsuleStateEdit,
    CapsuleTransaction,
    CapsuleWhatIf,
)
from timemachine.ports import ChainRPC, ExecutedBlock, ForkBackend, ForkSpec, LiveFork
from timemachine.replay.block import nonce_calls
from timemachine.replay.environment import env_differences
from timemachine.replay.pipeline import (
    BlockHook,
    BlockRun,
    RunFacts,
    Target,
    run_on_fork,
    start_fork,
)
from timemachine.replay.prefetch import PRESTATE_TRACER, complete_accounts, merge_prestates
from timemachine.replay.stopwatch import Stopwatch
from timemachine.replay.submit import send_params
from timemachine.replay.trace_compare import trace_digest
from timemachine.replay.tracing import (
    CALL_TRACER,
    PRESTATE_DIFF,
    TracedTx,
    call_tree,
    read_token_state,
)
from timemachine.trace.decoder import Decoder
from timemachine.trace.normalize import normalize_prestate_diff


class _RecordingCaller:
    """Forwards to the fork's client and keeps every eth_call it was asked to make."""

    def __init__(self, rpc: ChainRPC) -> None:
        self.rpc = rpc
        self.calls: list[list[Any]] = []

    def _record(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> None:
        self.calls += [list(params) for method, params in calls if method == "eth_call"]

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        self._record([(method, params)])
        return await self.rpc.call(method, params)

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        self._record(calls)
        return await self.rpc.batch(calls)

    async def batch_settled(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        self._record(calls)
        return await self.rpc.batch_settled(calls)


async def analysis_prestates(fork: LiveFork, executed: ExecutedBlock) -> list[dict[str, Any]]:
    """What the analysis of the block's last transaction reads beyond what the block touched.

    Tracing a replayed tx also reads state with eth_call (token balances before and after it,
    symbol/decimals, pair reserves, factories' getPair): slots the block itself may never touch,
    which a capsule built only from the block's prestate would lack, so its offline replay would
    read zeros there. The reads are made once more here, each traced with prestateTracer at the
    same block and with the same overrides, in prestate-trace form for `merge_prestates`.
    Slots the block touched come first in that merge (their start-of-block values); the rest
    were not changed by the block, so their values at the block equal those at its parent.
    """
    block = hex(quantity(executed.block["number"]))
    raw_call, raw_diff, chain_id = await fork.rpc.batch(
        [
            ("debug_traceTransaction", [executed.hashes[-1], CALL_TRACER]),
            ("debug_traceTransaction", [executed.hashes[-1], PRESTATE_DIFF]),
            ("eth_chainId", []),
        ]
    )
    receipt = executed.receipts[-1]
    trace = call_tree(raw_call, Decoder(bundled=False), receipt, quantity(receipt["gasUsed"]))
    recorder = _RecordingCaller(fork.rpc)
    await read_token_state(
        recorder,
        trace,
        normalize_prestate_diff(raw_diff),
        block,
        chain=get_chain(quantity(chain_id)),
        balances_final=True,
    )
    traced = await fork.rpc.batch_settled(
        [
            (
                "debug_traceCall",
                [
                    params[0],
                    params[1],
                    {
                        **PRESTATE_TRACER,
                        **({"stateOverrides": params[2]} if len(params) > 2 else {}),
                    },
                ],
            )
            for params in recorder.calls
        ]
    )
    return [{"result": answer} for answer in traced if isinstance(answer, dict)]


def _changed_accounts(diffs: Sequence[dict[str, Any]]) -> dict[str, bool]:
    """Accounts the block changed -> whether the block created them (absent from every `pre`)."""
    existed: set[str] = set()
    changed: set[str] = set()
    for item in diffs:
        result = item.get("result") or {}
        existed |= {address.lower() for address in result.get("pre") or {}}
        changed |= {address.lower() for address in result.get("post") or {}}
    return {address: address not in existed for address in changed | existed}


def _untouched_state(read: dict[str, Any], changed: dict[str, bool]) -> dict[str, Any]:
    """The part of an analysis read (taken at the block) that equals the parent's state: nothing
    of accounts the block created, only storage slots of accounts it changed (the slots it
    touched come from the block's own prestate, which is merged first)."""
    accounts: dict[str, Any] = {}
    for address, account in (read.get("result") or {}).items():
        created = changed.get(address.lower())
        if created is None:
            accounts[address] = account
        elif not created and account.get("storage"):
            accounts[address] = {"storage": account["storage"]}
    return {"result": accounts}


async def capture_accounts(
    fork: LiveFork, executed: ExecutedBlock, parent: int
) -> dict[str, CapsuleAccount]:
    """The parent-block state of every account and slot the replayed block touched, and of
    every one the analysis of its last transaction reads (`analysis_prestates`)."""
    block = hex(quantity(executed.block["number"]))
    with fork.crash_guard("capturing the prestate"):
        traces = await fork.rpc.call("debug_traceBlockByNumber", [block, PRESTATE_TRACER])
        diffs = await fork.rpc.call("debug_traceBlockByNumber", [block, PRESTATE_DIFF])
        changed = _changed_accounts(diffs[: len(executed.hashes)])
        reads = [
            _untouched_state(read, changed) for read in await analysis_prestates(fork, executed)
        ]
        ordered = [*traces[: len(executed.hashes)], *reads]
        merged = merge_prestates(ordered, len(ordered))
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
    whatif: CapsuleWhatIf | None = None,
) -> Capsule:
    """A capsule of `result`'s block prefix, expecting what the original receipt recorded; or,
    for a what-if (`result` is the what-if's replay), what the what-if did (version 2)."""
    outcome = result.replayed if whatif is not None else (result.original or result.replayed)
    return Capsule(
        version=1 if whatif is None else 2,
        chain_id=result.chain_id,
        hardfork=result.hardfork,
        block_env=result.block_env,
        accounts=accounts,
        transactions=[CapsuleTransaction(hash=tx.get("hash"), fields=tx) for tx in transactions],
        expected=CapsuleOutcome(
            status=1 if outcome.status else 0,
            gas_used=outcome.gas_used,
            logs=outcome.logs,
            contract_address=outcome.contract_address,
            trace_digest=trace_digest(result.trace),
        ),
        source=source,
        whatif=whatif,
    )


def outcome_of(receipt: ReceiptSummary) -> CapsuleOutcome:
    """A receipt summary as a capsule outcome (no trace digest)."""
    return CapsuleOutcome(
        status=1 if receipt.status else 0,
        gas_used=receipt.gas_used,
        logs=receipt.logs,
        contract_address=receipt.contract_address,
    )


def state_edits(calls: Sequence[Call]) -> list[CapsuleStateEdit]:
    """The anvil_set* calls a what-if made, as capsule data (one edit per call, in order)."""
    edits: list[CapsuleStateEdit] = []
    for method, params in calls:
        address = str(params[0]).lower()
        if method == "anvil_setCode":
            edits.append(CapsuleStateEdit(address=address, code=str(params[1])))
        elif method == "anvil_setBalance":
            edits.append(CapsuleStateEdit(address=address, balance=quantity(params[1])))
        elif method == "anvil_setNonce":
            edits.append(CapsuleStateEdit(address=address, nonce=quantity(params[1])))
        elif method == "anvil_setStorageAt":
            edits.append(CapsuleStateEdit(address=address, storage={params[1]: params[2]}))
        else:
            raise ValueError(f"a capsule cannot record the what-if call {method}")
    return edits


async def unmodified_accounts(
    upstream: ChainRPC,
    accounts: dict[str, CapsuleAccount],
    edits: Sequence[CapsuleStateEdit],
    parent: int,
) -> dict[str, CapsuleAccount]:
    """`accounts` with every field a what-if edited put back to its value at `parent`.

    A what-if's fork had the edits applied before the block, so its tracer saw the edited
    values; the capsule keeps the unmodified state and carries the edits apart (applied again
    offline), so the edits stay visible and a capsule without them replays the original."""
    block = hex(parent)
    calls: list[Call] = []
    wanted: list[tuple[str, str, str | None]] = []
    for edit in edits:
        if edit.address not in accounts:
            continue  # the block never touched it: its unmodified value matters to nothing
        fields: list[tuple[str, str, object]] = [
            ("code", "eth_getCode", edit.code),
            ("balance", "eth_getBalance", edit.balance),
            ("nonce", "eth_getTransactionCount", edit.nonce),
        ]
        for name, method, value in fields:
            if value is not None:
                calls.append((method, [edit.address, block]))
                wanted.append((edit.address, name, None))
        for slot in edit.storage:
            calls.append(("eth_getStorageAt", [edit.address, _word32(slot), block]))
            wanted.append((edit.address, "storage", slot))
    if not calls:
        return accounts
    answers = await upstream.batch(calls)
    restored = dict(accounts)
    for (address, name, key), answer in zip(wanted, answers, strict=True):
        account = restored[address]
        update: dict[str, Any]
        if name == "code":
            update = {"code": str(answer)}
        elif name == "storage":
            update = {"storage": {**account.storage, _word32(str(key)): _word32(str(answer))}}
        else:
            update = {name: quantity(answer)}
        restored[address] = account.model_copy(update=update)
    return restored


def _word32(word: str) -> str:
    return "0x" + word[2:].lower().rjust(64, "0")


def _edit_calls(edits: Sequence[CapsuleStateEdit]) -> list[Call]:
    """anvil calls putting a capsule what-if's state edits on the offline engine."""
    calls: list[Call] = []
    for edit in edits:
        if edit.code is not None:
            calls.append(("anvil_setCode", [edit.address, edit.code]))
        if edit.balance is not None:
            calls.append(("anvil_setBalance", [edit.address, hex(edit.balance)]))
        if edit.nonce is not None:
            calls.append(("anvil_setNonce", [edit.address, hex(edit.nonce)]))
        calls += [
            ("anvil_setStorageAt", [edit.address, _word32(slot), _word32(value)])
            for slot, value in edit.storage.items()
        ]
    return calls


async def replay_capsule(
    capsule: Capsule,
    forks: ForkBackend,
    decoder: Decoder,
    *,
    on_executed: BlockHook | None = None,
) -> ReplayResult:
    """Replay a capsule on a fresh fork built from its state; no network is involved.

    `forks` is the engine (anvil's fork manager, py-evm's backend); `on_executed` sees the fork
    right after the block was mined."""
    clock = Stopwatch()
    env = capsule.block_env
    expected = capsule.expected
    whatif = capsule.whatif
    original = ReceiptSummary(
        status=expected.status,
        gas_used=expected.gas_used,
        logs=expected.logs,
        contract_address=expected.contract_address,
    )
    preceding = len(capsule.transactions) - 1

    def check(traced: TracedTx) -> list[Difference] | None:
        if expected.trace_digest is None:
            return None
        replayed_digest = trace_digest(traced.trace)
        if replayed_digest == expected.trace_digest:
            return []
        return [
            Difference(
                field="trace_digest",
                original=expected.trace_digest,
                replayed=replayed_digest,
                explanation="the call tree differs from the one recorded in the capsule",
            )
        ]

    async def targets(fork: LiveFork, executed: ExecutedBlock) -> list[Target]:
        target_tx = await fork.rpc.call("eth_getTransactionByHash", [executed.hashes[-1]])
        notes = env_differences(env, executed.block)
        if whatif is not None:
            notes = [
                *(f"what-if: {line}" for line in whatif.description),
                f"judged against the live what-if recorded in the capsule; the original "
                f"transaction {'succeeded' if whatif.original.status else 'reverted'} using "
                f"{whatif.original.gas_used:,} gas",
                *notes,
            ]
        return [
            Target(
                position=preceding,
                info=parse_transaction({**target_tx, "hash": capsule.target.hash}),
                index=preceding,
                preceding=preceding,
                original=original,
                mode=whatif.mode if whatif is not None else "exact",
                notes=notes,
                check=check,
            )
        ]

    facts = RunFacts(
        chain_id=capsule.chain_id,
        chain=get_chain(capsule.chain_id),
        hardfork=capsule.hardfork,
        decoder=decoder,
        clock=clock,
    )
    spec = ForkSpec(hardfork=capsule.hardfork, genesis=capsule_genesis(capsule))
    fork = await start_fork(forks, spec, clock)
    block = BlockRun(env, *capsule_submissions(capsule), targets=targets)
    results = await run_on_fork(
        forks, fork, [block], facts, keep_warm=False, on_executed=on_executed
    )
    return results[-1]


def capsule_submissions(capsule: Capsule) -> tuple[list[Call], list[Call]]:
    """Setup calls (a what-if's state edits, impersonation, the first nonce of each sender) and
    the block's submissions. Transactions a what-if inserted or moved carry no nonce: the engine
    gives each its sender's next one, as the live what-if did."""
    impersonated = [
        tx.fields for tx in capsule.transactions if tx.fields is not None and "nonce" in tx.fields
    ]
    edits = _edit_calls(capsule.whatif.state) if capsule.whatif is not None else []
    setup: list[Call] = [
        *edits,
        ("anvil_autoImpersonateAccount", [True]),
        *nonce_calls(impersonated),
    ]
    submissions: list[Call] = [
        ("eth_sendRawTransaction", [tx.raw])
        if tx.raw is not None
        else ("eth_sendTransaction", [send_params(tx.fields or {})])
        for tx in capsule.transactions
    ]
    return setup, submissions


def capsule_genesis(capsule: Capsule) -> dict[str, Any]:
    """A geth genesis whose block is the capsule's parent block and whose alloc is its state."""
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
    return genesis
