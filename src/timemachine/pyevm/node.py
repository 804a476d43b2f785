"""py-evm as a fork (`ports.LiveFork`): a block mined from a prestate, then traced and read.

The fork starts from a prestate (`ForkSpec.genesis`: a geth genesis whose alloc is the state) or
from an upstream at a block (`ForkSpec.upstream_url`: state read as the block asks for it, see
pyevm/upstream.py), mines one block with the given environment, and answers the JSON-RPC methods
the replay pipeline asks of a fork: the mined block, transactions and receipts, geth's callTracer
and prestateTracer, the anvil_set* state edits made before the block, and the chain id.
Transactions are signed (`eth_sendRawTransaction`) or sent as their sender (`eth_sendTransaction`,
pyevm/sends.py). Execution runs in a worker thread (py-evm is pure Python).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from timemachine.chain.rpc import RpcClient
from timemachine.errors import (
    InvalidInputError,
    MethodUnavailableError,
    ReplayError,
    RpcError,
    TimeMachineError,
    TransactionNotFoundError,
)
from timemachine.hexutil import quantity
from timemachine.models import BlockEnv
from timemachine.ports import Call, ExecutedBlock, ForkSpec
from timemachine.pyevm.execute import BlockState, Execution
from timemachine.pyevm.frames import receipt_logs
from timemachine.pyevm.prestate import without_disabled
from timemachine.pyevm.reads import Reads
from timemachine.pyevm.upstream import UpstreamState

_EDITS = {
    "anvil_setBalance": "balance",
    "anvil_setNonce": "nonce",
    "anvil_setCode": "code",
    "anvil_setStorageAt": "storage",
}
MAX_STATE_ROUNDS = 64
"""Runs of a block a py-evm fork of an upstream makes while fetching the state it reads (each
round learns at least one account, slot or block hash, so a block ends; this bounds how long)."""
_IGNORED = frozenset({"anvil_autoImpersonateAccount", "anvil_impersonateAccount"})


class PyEvmRpc:
    """The JSON-RPC methods a replay asks of a py-evm fork, answered in process."""

    url = "pyevm://in-process"
    label = "py-evm"

    def __init__(self, fork: PyEvmFork) -> None:
        self._fork = fork
        self.requests = 0

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        self.requests += 1
        return self._fork.answer(method, list(params))

    async def batch(self, calls: Sequence[Call]) -> list[Any]:
        return [await self.call(method, params) for method, params in calls]

    async def batch_settled(self, calls: Sequence[Call]) -> list[Any]:
        answers: list[Any] = []
        for method, params in calls:
            try:
                answers.append(await self.call(method, params))
            except RpcError as error:
                answers.append(error)
        return answers


class PyEvmFork:
    """One block on py-evm, from a prestate or an upstream (see the module docstring)."""

    backend = "py-evm"

    def __init__(self, spec: ForkSpec) -> None:
        if spec.genesis is None and spec.upstream_url is None:
            raise InvalidInputError("a py-evm fork needs a prestate or an upstream RPC")
        genesis = spec.genesis or {}
        self.hardfork = spec.hardfork or "prague"
        self.chain_id = quantity((genesis.get("config") or {}).get("chainId")) or 1
        self.alloc: Mapping[str, Mapping[str, Any]] = genesis.get("alloc") or {}
        self.spec = spec
        self.rpc = PyEvmRpc(self)
        self.upstream: UpstreamState | None = None
        if spec.upstream_url is not None:
            client = RpcClient(spec.upstream_url)
            self.upstream = UpstreamState(client, spec.block_number or 0)
            self._client: RpcClient | None = client
        else:
            self._client = None
        self._block: dict[str, Any] | None = None
        self._txs: dict[str, dict[str, Any]] = {}
        self._receipts: dict[str, dict[str, Any]] = {}
        self._executions: dict[str, Execution] = {}

    async def connect(self) -> None:
        """Ask the upstream (if any) its chain id, which CHAINID answers."""
        if self._client is not None:
            self.chain_id = quantity(await self._client.call("eth_chainId")) or self.chain_id

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    @contextlib.contextmanager
    def crash_guard(self, stage: str) -> Iterator[None]:
        yield  # in process: nothing can crash apart from the caller

    async def execute(
        self,
        env: BlockEnv,
        setup: Sequence[Call],
        submissions: Sequence[Call],
        *,
        what: str = "the transaction",
    ) -> ExecutedBlock:
        if self._block is not None:
            raise ReplayError("a py-evm fork mines one block; start another fork for the next")
        source = self.upstream
        if source is None:
            return await asyncio.to_thread(self._execute, env, setup, submissions, what)
        source.learn_hash(env.number - 1, env.parent_hash)
        for _ in range(MAX_STATE_ROUNDS):
            reads = Reads()
            try:
                executed = await asyncio.to_thread(
                    self._execute, env, setup, submissions, what, reads
                )
            except ReplayError:
                if await source.complete(reads):
                    continue  # refused on state not fetched yet: run again with it
                raise
            if not await source.complete(reads):
                return executed
        raise ReplayError(
            f"the block kept reading state it had not read before after {MAX_STATE_ROUNDS} "
            "rounds of fetching; replay it with the anvil backend"
        )

    async def trace(self, tx_hash: str, *tracers: Mapping[str, Any]) -> list[Any]:
        return [self._trace(tx_hash, tracer) for tracer in tracers]

    def _execute(
        self,
        env: BlockEnv,
        setup: Sequence[Call],
        submissions: Sequence[Call],
        what: str,
        reads: Reads | None = None,
    ) -> ExecutedBlock:
        self._txs, self._receipts, self._executions = {}, {}, {}
        source = self.upstream
        state = BlockState(
            self.hardfork,
            self.chain_id,
            env,
            self.alloc if source is None else source.alloc,
            reads=reads,
            prev_hashes=() if source is None else source.prev_hashes(),
        )
        for method, params in setup:
            if method in _IGNORED:
                continue
            if method not in _EDITS:
                raise ReplayError(f"the py-evm backend cannot apply {method}; use anvil")
            field = _EDITS[method]
            value = (params[1], params[2]) if field == "storage" else params[1]
            state.edit(str(params[0]), field, value)
        hashes: list[str] = []
        for position, (method, params) in enumerate(submissions):
            last = position == len(submissions) - 1
            try:
                tx = _transaction(state, method, params)
                hashes.append(self._apply(state, tx, env, len(self._txs)))
            except TimeMachineError as error:
                if last:
                    raise ReplayError(f"the engine rejected {what}: {error.message}") from error
                hashes.append("")
        self._block = {
            "number": hex(env.number),
            "timestamp": hex(env.timestamp),
            "miner": env.coinbase,
            "gasLimit": hex(env.gas_limit),
            "difficulty": hex(env.difficulty),
            "mixHash": env.prevrandao,
            "baseFeePerGas": None if env.base_fee is None else hex(env.base_fee),
            "hash": env.hash,
            "parentHash": env.parent_hash,
            "gasUsed": hex(sum(quantity(r["gasUsed"]) or 0 for r in self._receipts.values())),
            "transactions": [h for h in hashes if h],
        }
        return ExecutedBlock(
            block=self._block,
            hashes=hashes,
            receipts=[self._receipts.get(h, {}) for h in hashes],
        )

    def _apply(self, state: BlockState, tx: Any, env: BlockEnv, index: int) -> str:
        execution = state.run(tx)
        tx_hash = "0x" + bytes(tx.hash).hex()
        sender = "0x" + bytes(tx.sender).hex()
        root = execution.call_tracer()
        creates = "to" not in root or not tx.to
        self._executions[tx_hash] = execution
        self._txs[tx_hash] = {
            "hash": tx_hash,
            "from": sender,
            "to": None if creates else "0x" + bytes(tx.to).hex(),
            "gas": hex(tx.gas),
            "value": hex(tx.value),
            "input": "0x" + bytes(tx.data).hex(),
            "nonce": hex(tx.nonce),
            "type": hex(getattr(tx, "type_id", None) or 0),
            "blockNumber": hex(env.number),
            "transactionIndex": hex(index),
        }
        self._receipts[tx_hash] = {
            "transactionHash": tx_hash,
            "transactionIndex": hex(index),
            "blockNumber": hex(env.number),
            "from": sender,
            "to": self._txs[tx_hash]["to"],
            "status": "0x0" if "error" in root else "0x1",
            "gasUsed": hex(execution.gas_used),
            "logs": [] if "error" in root else receipt_logs(execution.root),
            "contractAddress": root.get("to") if creates and "error" not in root else None,
        }
        return tx_hash

    def _trace(self, tx_hash: str, tracer: Mapping[str, Any]) -> Any:
        execution = self._executions.get(str(tx_hash).lower())
        if execution is None:
            raise TransactionNotFoundError(f"transaction {tx_hash} was not mined on this fork")
        name = tracer.get("tracer")
        config = tracer.get("tracerConfig") or {}
        if name == "callTracer":
            return execution.call_tracer(
                with_log=bool(config.get("withLog")),
                only_top_call=bool(config.get("onlyTopCall")),
            )
        if name == "prestateTracer":
            traced = execution.prestate_tracer(diff_mode=bool(config.get("diffMode")))
            return without_disabled(copy.deepcopy(traced), config)
        raise MethodUnavailableError(f"the py-evm backend has no tracer {name!r}")

    def answer(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC method of the fork (RpcError for those py-evm does not serve)."""
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "eth_getTransactionByHash":
            return self._txs.get(str(params[0]).lower())
        if method == "eth_getTransactionReceipt":
            return self._receipts.get(str(params[0]).lower())
        if method == "eth_getBlockByNumber":
            return self._block
        if method == "eth_getBlockReceipts":
            return list(self._receipts.values())
        if method == "debug_traceTransaction":
            return self._trace(str(params[0]), params[1] if len(params) > 1 else {})
        raise RpcError(f"the py-evm backend does not serve {method}", code=-32601)


def _transaction(state: BlockState, method: str, params: Sequence[Any]) -> Any:
    """The transaction a submission sends: signed (raw) or as its sender (impersonated)."""
    if method == "eth_sendRawTransaction":
        return state.decode(str(params[0]))
    if method == "eth_sendTransaction":
        return state.sent(params[0])
    raise ReplayError(f"the py-evm backend cannot submit with {method}; use anvil")
