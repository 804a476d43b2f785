"""The replay engine: fork at the parent block, rebuild the block environment, run the block's
earlier transactions (exact mode) and the target on anvil, then trace, decode and judge fidelity.

Compared with `cast run`, which executes locally in revm against lazily fetched state, this keeps
the whole fork alive afterwards (state can be queried, what-ifs can follow), reports a fidelity
verdict against the original receipt, and reuses warm anvil processes between replays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from timemachine.chain.blocks import (
    parse_block_env,
    parse_receipt,
    parse_transaction,
    quantity,
    raw_transaction_hash,
    validate_hex,
    validate_tx_hash,
)
from timemachine.chain.gateway import SeedAccount, StateGateway
from timemachine.chain.registry import ChainInfo, get_chain, hardfork_for_block
from timemachine.chain.rpc import RpcClient
from timemachine.errors import DebugApiUnavailableError, InvalidInputError, ReplayError, RpcError
from timemachine.forks.manager import Fork, ForkManager, ForkSpec
from timemachine.models import (
    CallFrame,
    Fidelity,
    ReplayMode,
    ReplayResult,
)
from timemachine.replay.assemble import (
    build_result,
    check_chain_order,
    group_by_block,
    preceding_notes,
)
from timemachine.replay.block import ExecutedBlock, execute_block, impersonated
from timemachine.replay.environment import env_calls, env_differences
from timemachine.replay.fidelity import compare_receipts
from timemachine.replay.prefetch import complete_accounts, merge_prestates
from timemachine.replay.source import (
    OriginalTx,
    fetch_block,
    fetch_block_context,
    fetch_original,
    fetch_transaction,
)
from timemachine.replay.stopwatch import Stopwatch
from timemachine.replay.trace_compare import compare_traces
from timemachine.replay.tracing import CALL_TRACER, call_tree, trace_transaction
from timemachine.trace.decoder import Decoder

ExecutedHook = Callable[[Fork, OriginalTx, ExecutedBlock], Awaitable[None]]
"""Called with the fork right after the block was re-executed, before it is traced or released
(capsule export reads the fork's state there)."""


class ReplayEngine:
    """Replays transactions of one upstream. Keep one per upstream to reuse warm forks."""

    def __init__(
        self,
        upstream: RpcClient,
        forks: ForkManager,
        decoder: Decoder,
        *,
        gateway: StateGateway | None = None,
        prefetch: bool = True,
    ) -> None:
        self.upstream = upstream
        self.forks = forks
        self.decoder = decoder
        self.gateway = gateway
        self.prefetch = prefetch and gateway is not None
        """Seed forks with the upstream's prestate trace (switched off if it has no debug API)."""
        self._anvil_hardfork: str | None = None
        self._chain_id: int | None = None  # an upstream serves one chain: asked once

    @property
    def fork_upstream(self) -> str:
        """What forks fetch state from: the caching gateway when there is one."""
        return self.gateway.url if self.gateway is not None else self.upstream.url

    async def replay_transaction(
        self,
        tx_hash: str,
        *,
        mode: ReplayMode = "exact",
        compare_trace: bool = False,
        on_executed: ExecutedHook | None = None,
    ) -> ReplayResult:
        """Replay a mined transaction; exact mode first replays the block's earlier transactions.

        With `compare_trace`, the upstream's own callTracer trace of the original (debug API
        needed) is compared frame by frame with the replay's, on top of the receipt comparison.
        """
        tx_hash = validate_tx_hash(tx_hash)
        clock = Stopwatch()
        requests_before = self.upstream.requests
        exact = mode == "exact"
        with clock.stage("fetch"):
            mined = await fetch_transaction(
                self.upstream, tx_hash, with_receipt=not exact, chain_id=self._chain_id
            )
            self._remember_chain_id(mined.chain_id)
            chain = get_chain(mined.chain_id)
            hardfork = await self._hardfork_hint(chain, mined.tx)
        # Start (or reset) the fork while the block is still being fetched, when the hardfork is
        # already known from the transaction alone.
        parent = quantity(mined.tx["blockNumber"]) - 1
        starting = self._start_fork(parent, hardfork) if hardfork else None
        try:
            with clock.stage("fetch"):
                original = await fetch_block_context(
                    self.upstream, mined, full_block=exact, prestate=exact and self.prefetch
                )
                self.prefetch = self.prefetch and not original.prestate_unsupported
                hardfork = hardfork or await self._hardfork(chain, original.block)
                upstream_tree = await self._upstream_tree(original) if compare_trace else None
                seed = await self._seed(original, parent) if exact else None
            with clock.stage("fork"):
                fork = await (starting or self._start_fork(parent, hardfork))
        except BaseException:
            if starting is not None:
                await self._abandon(starting)
            raise
        if seed and self.gateway is not None:
            self.gateway.seed(parent, seed)
        env = parse_block_env(original.block)
        preceding = original.preceding() if exact else []
        try:
            with clock.stage("execute"):
                executed = await execute_block(fork, env, *impersonated([*preceding, original.tx]))
                if on_executed is not None:
                    await on_executed(fork, original, executed)
            with clock.stage("trace"):
                traced = await trace_transaction(
                    fork,
                    self.decoder,
                    replay_hash=executed.hashes[-1],
                    receipt=executed.receipts[-1],
                    tx_gas=original.info.gas,
                    block_tag=hex(quantity(executed.block["number"])),
                    balances_final=True,
                )
        finally:
            await self.forks.release(fork)
        notes = env_differences(env, executed.block)
        notes += preceding_notes(original, executed, len(preceding))
        if mode == "quick" and original.index:
            notes.append(
                f"quick mode: the {original.index} earlier transactions of block {env.number} "
                "were not replayed"
            )
        original_receipt = parse_receipt(original.receipt)
        return build_result(
            info=original.info,
            chain_id=original.chain_id,
            chain=chain,
            hardfork=hardfork,
            mode=mode,
            env=env,
            index=original.index,
            preceding=len(preceding),
            original=original_receipt,
            fidelity=compare_receipts(
                original_receipt,
                traced.receipt,
                notes,
                None if upstream_tree is None else compare_traces(upstream_tree, traced.trace),
            ),
            traced=traced,
            timings=clock.result(),
            rpc_requests=self.upstream.requests - requests_before,
        )

    async def _upstream_tree(self, original: OriginalTx) -> CallFrame:
        """The upstream node's own call trace of the original transaction."""
        try:
            raw = await self.upstream.call(
                "debug_traceTransaction", [original.info.hash, CALL_TRACER]
            )
        except DebugApiUnavailableError as error:
            raise DebugApiUnavailableError(
                f"{self.upstream.label} does not expose debug_traceTransaction, which trace "
                "comparison needs; replay without it or use a node with the debug API"
            ) from error
        return call_tree(raw, self.decoder, original.receipt, original.info.gas)

    def _remember_chain_id(self, chain_id: int) -> None:
        """Ask the upstream once; forks starting later get the answer from the gateway."""
        self._chain_id = chain_id
        if self.gateway is not None:
            self.gateway.remember("eth_chainId", [], hex(chain_id))

    def _start_fork(self, parent: int, hardfork: str) -> asyncio.Task[Fork]:
        spec = ForkSpec(
            upstream=self.fork_upstream,
            block_number=parent,
            hardfork=hardfork,
            label=self.upstream.label,
        )
        return asyncio.ensure_future(self.forks.acquire(spec))

    async def _abandon(self, starting: asyncio.Task[Fork]) -> None:
        """Give back a fork whose replay failed before it was used (or stop its start)."""
        if not starting.done():
            starting.cancel()
        try:
            fork = await starting
        except BaseException:  # noqa: BLE001 - cancelled or failed: nothing to give back
            return
        await self.forks.release(fork)

    async def _seed(self, original: OriginalTx, parent: int) -> dict[str, SeedAccount] | None:
        """Start-of-block state of everything the block's txs up to ours touch, or None."""
        if original.block_prestate is None or self.gateway is None:
            return None
        accounts = merge_prestates(original.block_prestate, original.index + 1)
        return await complete_accounts(self.upstream, accounts, parent)

    async def _hardfork_hint(self, chain: ChainInfo, tx: dict[str, Any]) -> str | None:
        """The hardfork, when the transaction alone tells (its block's number and timestamp)."""
        if chain.schedule is None:
            return await self._anvil_upstream_hardfork()
        if chain.is_arbitrum or "blockTimestamp" not in tx:
            return None
        return hardfork_for_block(
            chain, {"number": tx["blockNumber"], "timestamp": tx["blockTimestamp"]}
        )

    async def replay_many(self, tx_hashes: Sequence[str]) -> list[ReplayResult]:
        """Replay an ordered list of mined transactions in sequence on one fork.

        The fork starts at the parent of the first transaction's block; consecutive transactions
        of one block are mined together in a block with that block's environment. Only the listed
        transactions run, so each one's fidelity verdict shows whether skipped ones mattered.
        """
        hashes = [validate_tx_hash(h) for h in tx_hashes]
        if not hashes:
            raise InvalidInputError("give at least one transaction hash")
        clock = Stopwatch()
        requests_before = self.upstream.requests
        with clock.stage("fetch"):
            originals = list(
                await asyncio.gather(
                    *(
                        fetch_original(self.upstream, h, full_block=False, chain_id=self._chain_id)
                        for h in hashes
                    )
                )
            )
            check_chain_order(originals)
            self._remember_chain_id(originals[0].chain_id)
            chain = get_chain(originals[0].chain_id)
            hardfork = await self._hardfork(chain, originals[0].block)
        groups = group_by_block(originals)
        spec = ForkSpec(
            upstream=self.fork_upstream,
            block_number=originals[0].block_number - 1,
            hardfork=hardfork,
            label=self.upstream.label,
        )
        results: list[ReplayResult] = []
        with clock.stage("fork"):
            fork = await self.forks.acquire(spec)
        try:
            previous_block = originals[0].block_number - 1
            for group in groups:
                env = parse_block_env(group[0].block)
                with clock.stage("execute"):
                    executed = await execute_block(fork, env, *impersonated([o.tx for o in group]))
                block_notes = env_differences(env, executed.block)
                if env.number > previous_block + 1:
                    block_notes.append(
                        f"blocks {previous_block + 1}..{env.number - 1} were not replayed"
                    )
                previous_block = env.number
                for position, original in enumerate(group):
                    with clock.stage("trace"):
                        traced = await trace_transaction(
                            fork,
                            self.decoder,
                            replay_hash=executed.hashes[position],
                            receipt=executed.receipts[position],
                            tx_gas=original.info.gas,
                            block_tag=hex(env.number),
                            balances_final=position == len(group) - 1,
                        )
                    notes = list(block_notes)
                    skipped = original.index - position
                    if skipped > 0:
                        notes.append(
                            f"sequence mode: {skipped} other transactions of block {env.number} "
                            "before this one were not replayed"
                        )
                    original_receipt = parse_receipt(original.receipt)
                    results.append(
                        build_result(
                            info=original.info,
                            chain_id=original.chain_id,
                            chain=chain,
                            hardfork=hardfork,
                            mode="quick",
                            env=env,
                            index=original.index,
                            preceding=position,
                            original=original_receipt,
                            fidelity=compare_receipts(original_receipt, traced.receipt, notes),
                            traced=traced,
                            timings=clock.result(),
                            rpc_requests=self.upstream.requests - requests_before,
                        )
                    )
        finally:
            await self.forks.release(fork)
        return results

    async def replay_raw(self, raw_tx: str, *, block_number: int | None = None) -> ReplayResult:
        """Run a raw signed transaction on top of `block_number` (default: latest).

        A raw transaction that is already mined is replayed as that mined transaction instead.
        """
        raw = validate_hex(raw_tx, "a raw signed transaction")
        tx_hash = raw_transaction_hash(raw)
        clock = Stopwatch()
        requests_before = self.upstream.requests
        with clock.stage("fetch"):
            mined, chain_id = await self.upstream.batch(
                [("eth_getTransactionByHash", [tx_hash]), ("eth_chainId", [])]
            )
            if mined is not None and mined.get("blockNumber") is not None:
                return await self.replay_transaction(tx_hash)
            base = await fetch_block(self.upstream, block_number)
            chain = get_chain(quantity(chain_id))
            hardfork = await self._hardfork(chain, base)
        base_env = parse_block_env(base)
        env = base_env.model_copy(
            update={
                "number": base_env.number + 1,
                "timestamp": base_env.timestamp + chain.block_time,
                "base_fee": None,
                "hash": None,
                "parent_hash": base_env.hash,
            }
        )
        spec = ForkSpec(
            upstream=self.fork_upstream,
            block_number=base_env.number,
            hardfork=hardfork,
            label=self.upstream.label,
        )
        with clock.stage("fork"):
            fork = await self.forks.acquire(spec)
        try:
            with clock.stage("execute"), fork.crash_guard("replaying the raw transaction"):
                await fork.rpc.batch(env_calls(env))
                try:
                    replay_hash = await fork.rpc.call("eth_sendRawTransaction", [raw])
                except RpcError as error:
                    raise ReplayError(
                        f"the engine rejected the raw transaction: {error.message}"
                    ) from error
                await fork.rpc.call("evm_mine")
                tx, receipt, block = await fork.rpc.batch(
                    [
                        ("eth_getTransactionByHash", [replay_hash]),
                        ("eth_getTransactionReceipt", [replay_hash]),
                        ("eth_getBlockByNumber", ["latest", False]),
                    ]
                )
            info = parse_transaction(tx)
            with clock.stage("trace"):
                traced = await trace_transaction(
                    fork,
                    self.decoder,
                    replay_hash=replay_hash,
                    receipt=receipt,
                    tx_gas=info.gas,
                    block_tag="latest",
                    balances_final=True,
                )
        finally:
            await self.forks.release(fork)
        notes = ["never mined: there is no original receipt to compare with"]
        return build_result(
            info=info,
            chain_id=quantity(chain_id),
            chain=chain,
            hardfork=hardfork,
            mode="quick",
            env=parse_block_env(block),
            index=quantity(tx.get("transactionIndex")),
            preceding=0,
            original=None,
            fidelity=Fidelity(verdict="unverified", notes=notes),
            traced=traced,
            timings=clock.result(),
            rpc_requests=self.upstream.requests - requests_before,
        )

    async def hardfork_at(self, chain: ChainInfo, block: dict[str, Any]) -> str:
        """The rules active at `block` (what-if replays fork at other blocks than the parent)."""
        return await self._hardfork(chain, block)

    async def _hardfork(self, chain: ChainInfo, block: dict[str, Any]) -> str:
        """The rules active at `block`: the chain's schedule, else the upstream's own word (anvil
        reports its hardfork), else what the block header proves."""
        if chain.schedule is None:
            told = await self._anvil_upstream_hardfork()
            if told:
                return told
        return hardfork_for_block(chain, block)

    async def _anvil_upstream_hardfork(self) -> str | None:
        if self._anvil_hardfork is None:
            self._anvil_hardfork = await self._ask_anvil_hardfork() or ""
        return self._anvil_hardfork or None

    async def _ask_anvil_hardfork(self) -> str | None:
        """anvil's own hardfork when the upstream is anvil (one round trip; None otherwise)."""
        version, info = await self.upstream.batch_settled(
            [("web3_clientVersion", []), ("anvil_nodeInfo", [])]
        )
        if not str(version).lower().startswith("anvil") or not isinstance(info, dict):
            return None
        return str(info.get("hardFork", "")).lower() or None
