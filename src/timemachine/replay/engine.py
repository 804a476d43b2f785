"""The replay engine: fork at the parent block, rebuild the block environment, run the block's
earlier transactions (exact mode) and the target on a `ForkBackend` (anvil for an upstream), then
trace, decode and judge fidelity, all through the one pipeline (`replay.pipeline.run_on_fork`).

Compared with `cast run`, which executes locally in revm against lazily fetched state, this keeps
the whole fork alive afterwards (state can be queried, what-ifs can follow), reports a fidelity
verdict against the original receipt, and reuses warm anvil processes between replays.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from timemachine.chain.blocks import (
    parse_block_env,
    parse_receipt,
    parse_transaction,
    quantity,
    raw_transaction_hash,
    raw_transaction_sender,
    validate_hex,
    validate_tx_hash,
)
from timemachine.chain.gateway import SeedAccount, StateGateway
from timemachine.chain.geth_config import hardfork_for_config, node_chain_config
from timemachine.chain.registry import ChainInfo, get_chain, hardfork_for_block
from timemachine.errors import DebugApiUnavailableError, InvalidInputError, ReplayError
from timemachine.forks.manager import ForkSpec
from timemachine.hexutil import quantity as optional_quantity
from timemachine.models import CallFrame, ReplayMode, ReplayResult
from timemachine.ports import ChainRPC, ExecutedBlock, ForkBackend, LiveFork
from timemachine.replay.assemble import check_chain_order, group_by_block, preceding_notes
from timemachine.replay.backends import is_set_code_submission
from timemachine.replay.block import impersonated
from timemachine.replay.chain_txs import judged_receipt, refuse_unmodelled, unmodelled_notes
from timemachine.replay.environment import env_differences
from timemachine.replay.pipeline import (
    BlockRun,
    RunFacts,
    Target,
    abandon,
    run_on_fork,
    start_fork,
)
from timemachine.replay.prefetch import (
    accessed_state,
    complete_accounts,
    merge_prestates,
    remember_block,
    system_reads,
)
from timemachine.replay.source import (
    OriginalTx,
    fetch_block,
    fetch_block_context,
    fetch_original,
    fetch_transaction,
    json_object,
)
from timemachine.replay.stopwatch import Stopwatch
from timemachine.replay.trace_compare import compare_traces
from timemachine.replay.tracing import CALL_TRACER, call_tree
from timemachine.trace.decoder import Decoder

ExecutedHook = Callable[[LiveFork, OriginalTx, ExecutedBlock], Awaitable[None]]
"""Called with the fork right after the block was re-executed, before it is traced or released
(capsule export reads the fork's state there)."""

Failure = Callable[[OriginalTx, str], None]
"""Told why an earlier transaction of the block (`also`) could not be judged."""


class ReplayEngine:
    """Replays transactions of one upstream. Keep one per upstream to reuse warm forks."""

    def __init__(
        self,
        upstream: ChainRPC,
        forks: ForkBackend,
        decoder: Decoder,
        *,
        gateway: StateGateway | None = None,
        prefetch: bool = True,
    ) -> None:
        self.upstream = upstream
        self.forks = forks
        """The backend forks come from (anvil's fork manager, or another `ForkBackend`)."""
        self.decoder = decoder
        self.gateway = gateway
        self.prefetch = prefetch and gateway is not None
        """Seed forks with the upstream's prestate trace (switched off if it has no debug API)."""
        self._upstream_rules: tuple[str | None, Mapping[str, Any] | None] | None = None
        self.access_lists = self.prefetch
        """Else seed them from access lists (switched off if the upstream has none)."""
        self._chain_id: int | None = None  # an upstream serves one chain: asked once

    @property
    def fork_source_url(self) -> str:
        """What forks fetch state from: the caching gateway when there is one."""
        return self.gateway.url if self.gateway is not None else self.upstream.url

    def facts(self, chain_id: int, hardfork: str, clock: Stopwatch, before: int) -> RunFacts:
        """What every result of one replay of this upstream shares (`before`: the upstream's
        request count when the replay started)."""
        return RunFacts(
            chain_id=chain_id,
            chain=get_chain(chain_id),
            hardfork=hardfork,
            decoder=self.decoder,
            clock=clock,
            rpc_requests=lambda: self.upstream.requests - before,
        )

    def fork_spec(
        self,
        block_number: int,
        hardfork: str,
        *,
        set_code: bool = False,
        needs_anvil: str | None = None,
    ) -> ForkSpec:
        """A fork of the upstream (through the gateway) at `block_number` (`set_code`, and
        `needs_anvil` saying why a fork must be anvil: see ForkSpec)."""
        return ForkSpec(
            upstream_url=self.fork_source_url,
            block_number=block_number,
            hardfork=hardfork,
            label=self.upstream.label,
            set_code=set_code,
            needs_anvil=needs_anvil,
        )

    async def replay_transaction(
        self,
        tx_hash: str,
        *,
        mode: ReplayMode = "exact",
        compare_trace: bool = False,
        on_executed: ExecutedHook | None = None,
        needs_anvil: str | None = None,
    ) -> ReplayResult:
        """Replay a mined transaction; exact mode first replays the block's earlier transactions.

        With `compare_trace`, the upstream's own callTracer trace of the original (debug API
        needed) is compared frame by frame with the replay's, on top of the receipt comparison.
        """
        results = await self.replay_in_block(
            tx_hash,
            mode=mode,
            compare_trace=compare_trace,
            on_executed=on_executed,
            needs_anvil=needs_anvil,
        )
        return results[-1]

    async def replay_in_block(
        self,
        tx_hash: str,
        *,
        mode: ReplayMode = "exact",
        compare_trace: bool = False,
        on_executed: ExecutedHook | None = None,
        also: Sequence[int] = (),
        on_failure: Failure | None = None,
        needs_anvil: str | None = None,
    ) -> list[ReplayResult]:
        """`replay_transaction`, also judging the block's earlier transactions at positions
        `also` (exact mode; each failure goes to `on_failure`); the target's result is last.
        `needs_anvil`: why the fork must be anvil (`on_executed` reads it over RPC)."""
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
        set_code = is_set_code_submission(("eth_sendTransaction", [mined.tx]))

        def start(rules: str) -> asyncio.Future[LiveFork]:
            return self._start_fork(parent, rules, set_code=set_code, needs_anvil=needs_anvil)

        starting = start(hardfork) if hardfork else None
        try:
            with clock.stage("fetch"):
                original = await fetch_block_context(
                    self.upstream,
                    mined,
                    full_block=exact,
                    prestate=exact and self.prefetch,
                    with_parent=self.gateway is not None,
                )
                self.prefetch = self.prefetch and not original.prestate_unsupported
                refuse_unmodelled(chain, original.tx, original.block)
                hardfork = hardfork or await self._hardfork(chain, original.block)
                upstream_tree = await self._upstream_tree(original) if compare_trace else None
                seed = await self._seed(original, parent, hardfork) if exact else None
            with clock.stage("fork"):
                fork = await (starting or start(hardfork))
        except BaseException:
            if starting is not None:
                await abandon(self.forks, starting)
            raise
        if self.gateway is not None:
            self.gateway.seed(parent, seed or {})
            if original.parent_block is not None:
                remember_block(self.gateway, original.parent_block)
        env = parse_block_env(original.block)
        preceding = original.preceding() if exact else []
        facts = self.facts(original.chain_id, hardfork, clock, requests_before)

        async def targets(fork: LiveFork, executed: ExecutedBlock) -> list[Target]:
            if on_executed is not None:
                await on_executed(fork, original, executed)
            block_notes = env_differences(env, executed.block)
            earlier = [
                self._earlier_target(original, position, executed, block_notes, on_failure, chain)
                for position in sorted(also)
            ]
            judged, fee_notes = judged_receipt(chain, original.receipt)
            notes = [
                *block_notes,
                *preceding_notes(original, executed, len(preceding)),
                *unmodelled_notes(chain, preceding, original.block),
                *fee_notes,
            ]
            if mode == "quick" and original.index:
                notes.append(
                    f"quick mode: the {original.index} earlier transactions of block "
                    f"{env.number} were not replayed"
                )
            return [
                *earlier,
                Target(
                    position=len(preceding),
                    info=original.info,
                    index=original.index,
                    preceding=len(preceding),
                    original=judged,
                    mode=mode,
                    notes=notes,
                    check=None
                    if upstream_tree is None
                    else lambda traced: compare_traces(upstream_tree, traced.trace),
                ),
            ]

        block = BlockRun(env, *impersonated([*preceding, original.tx]), targets=targets)
        return await run_on_fork(self.forks, fork, [block], facts)

    def _earlier_target(
        self,
        last: OriginalTx,
        position: int,
        executed: ExecutedBlock,
        block_notes: list[str],
        on_failure: Failure | None,
        chain: ChainInfo,
    ) -> Target:
        """An earlier transaction of `last`'s block, judged as in its own exact replay."""
        original = last.earlier(position)
        judged, fee_notes = judged_receipt(chain, original.receipt)
        return Target(
            position=position,
            info=original.info,
            index=position,
            preceding=position,
            original=judged,
            mode="exact",
            notes=[
                *block_notes,
                *preceding_notes(original, executed, position),
                *unmodelled_notes(chain, original.preceding(), original.block),
                *fee_notes,
            ],
            balances_final=False,
            on_failure=None if on_failure is None else lambda reason: on_failure(original, reason),
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

    def _start_fork(
        self, parent: int, hardfork: str, *, set_code: bool = False, needs_anvil: str | None = None
    ) -> asyncio.Future[LiveFork]:
        spec = self.fork_spec(parent, hardfork, set_code=set_code, needs_anvil=needs_anvil)
        return asyncio.ensure_future(self.forks.acquire(spec))

    async def _seed(
        self, original: OriginalTx, parent: int, hardfork: str
    ) -> dict[str, SeedAccount] | None:
        """Start-of-block state of everything the block's txs up to ours touch (and the system
        contracts the block reads first), or None."""
        if self.gateway is None:
            return None
        extra = system_reads(hardfork, parent)
        if original.block_prestate is None:  # no prestate tracer: access lists, if offered
            if not self.access_lists:
                return None
            txs = [*original.preceding(), original.tx]
            accounts = await accessed_state(self.upstream, txs, parent, extra)
            self.access_lists = accounts is not None
            return accounts
        accounts = merge_prestates(original.block_prestate, original.index + 1)
        return await complete_accounts(self.upstream, accounts, parent, extra)

    async def _hardfork_hint(self, chain: ChainInfo, tx: dict[str, Any]) -> str | None:
        """The hardfork, when the transaction alone tells (its block's number and timestamp)."""
        if chain.schedule is None:
            return await self._told_hardfork(
                {"number": tx["blockNumber"], "timestamp": tx.get("blockTimestamp")}
            )
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
        facts = self.facts(originals[0].chain_id, hardfork, clock, requests_before)
        blocks: list[BlockRun] = []
        previous_block = originals[0].block_number - 1
        for group in group_by_block(originals):
            env = parse_block_env(group[0].block)
            gap = (
                [f"blocks {previous_block + 1}..{env.number - 1} were not replayed"]
                if env.number > previous_block + 1
                else []
            )
            previous_block = env.number
            blocks.append(
                BlockRun(
                    env,
                    *impersonated([o.tx for o in group]),
                    targets=self._sequence_targets(env.number, group, gap),
                )
            )
        several = len(blocks) > 1
        spec = self.fork_spec(
            originals[0].block_number - 1,
            hardfork,
            needs_anvil="the sequence spans several blocks" if several else None,
        )
        fork = await start_fork(self.forks, spec, clock)
        return await run_on_fork(self.forks, fork, blocks, facts)

    @staticmethod
    def _sequence_targets(
        number: int, group: list[OriginalTx], gap: list[str]
    ) -> Callable[[LiveFork, ExecutedBlock], Awaitable[list[Target]]]:
        async def targets(fork: LiveFork, executed: ExecutedBlock) -> list[Target]:
            block_notes = env_differences(parse_block_env(group[0].block), executed.block) + gap
            found: list[Target] = []
            for position, original in enumerate(group):
                notes = list(block_notes)
                skipped = original.index - position
                if skipped > 0:
                    notes.append(
                        f"sequence mode: {skipped} other transactions of block {number} "
                        "before this one were not replayed"
                    )
                found.append(
                    Target(
                        position=position,
                        info=original.info,
                        index=original.index,
                        preceding=position,
                        original=parse_receipt(original.receipt),
                        mode="quick",
                        notes=notes,
                        balances_final=position == len(group) - 1,
                    )
                )
            return found

        return targets

    async def _check_raw_nonce(self, raw: str, base: dict[str, Any]) -> None:
        """ReplayError naming the expected nonce when the raw tx cannot run on top of `base`."""
        sender, nonce = raw_transaction_sender(raw)
        number = quantity(base["number"])
        count = await self.upstream.call("eth_getTransactionCount", [sender, hex(number)])
        expected = quantity(count)
        if nonce != expected:
            raise ReplayError(
                f"the raw transaction's nonce {nonce} does not fit on block {number}: "
                f"{sender}'s next nonce there is {expected} (replay it on a block after which "
                f"the sender's next nonce is {nonce})"
            )

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
            mined = (
                None
                if mined is None
                else json_object(self.upstream, "eth_getTransactionByHash", mined)
            )
            if mined is not None and mined.get("blockNumber") is not None:
                return await self.replay_transaction(tx_hash)
            base = await fetch_block(self.upstream, block_number)
            await self._check_raw_nonce(raw, base)
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
        facts = self.facts(quantity(chain_id), hardfork, clock, requests_before)

        async def targets(fork: LiveFork, executed: ExecutedBlock) -> list[Target]:
            tx = await fork.rpc.call("eth_getTransactionByHash", [executed.hashes[0]])
            return [
                Target(
                    position=0,
                    info=parse_transaction(tx),
                    index=quantity(tx.get("transactionIndex")),
                    preceding=0,
                    original=None,
                    mode="quick",
                    notes=["never mined: there is no original receipt to compare with"],
                    env=parse_block_env(executed.block),
                )
            ]

        block = BlockRun(
            env,
            [],
            [("eth_sendRawTransaction", [raw])],
            targets=targets,
            what="the raw transaction",
        )
        fork = await start_fork(self.forks, self.fork_spec(base_env.number, hardfork), clock)
        return (await run_on_fork(self.forks, fork, [block], facts))[-1]

    async def hardfork_at(self, chain: ChainInfo, block: dict[str, Any]) -> str:
        """The rules active at `block` (what-if replays fork at other blocks than the parent)."""
        return await self._hardfork(chain, block)

    async def _hardfork(self, chain: ChainInfo, block: dict[str, Any]) -> str:
        """The rules active at `block`: the chain's schedule, else the upstream's own word (anvil
        reports its hardfork, a geth node its chain config), else what the block header proves."""
        if chain.schedule is None:
            told = await self._told_hardfork(block)
            if told:
                return told
        return hardfork_for_block(chain, block)

    async def _told_hardfork(self, block: Mapping[str, Any]) -> str | None:
        """The hardfork the upstream itself gives `block` (a number and timestamp; the
        difficulty, when known, proves a geth chain config's merge), or None."""
        if self._upstream_rules is None:
            self._upstream_rules = await self._ask_upstream_rules()
        hardfork, config = self._upstream_rules
        number, timestamp = (
            optional_quantity(block.get("number")),
            optional_quantity(block.get("timestamp")),
        )
        if hardfork or config is None or number is None or timestamp is None:
            return hardfork
        difficulty = optional_quantity(block.get("difficulty"))
        merged = None if difficulty is None else difficulty == 0
        return hardfork_for_config(config, number, timestamp, merged=merged)

    async def _ask_upstream_rules(self) -> tuple[str | None, Mapping[str, Any] | None]:
        """(anvil's own hardfork, a geth node's chain config), whichever the upstream tells.
        `admin_nodeInfo` is asked only of a node that is not anvil: anvil lacks it, and a
        provider pool fails an unknown method over to the next provider."""
        version, info = await self.upstream.batch_settled(
            [("web3_clientVersion", []), ("anvil_nodeInfo", [])]
        )
        if str(version).lower().startswith("anvil") and isinstance(info, dict):
            return str(info.get("hardFork", "")).lower() or None, None
        (node,) = await self.upstream.batch_settled([("admin_nodeInfo", [])])
        return None, node_chain_config(node)
