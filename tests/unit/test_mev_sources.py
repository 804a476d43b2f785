"""Trace sources: Parity JSON (both key styles), geth callTracer, replay results, a live node
(real HTTP on loopback: trace_block, debug_traceBlockByNumber, neither), and the CLI over them."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.unit.mev_traces import address, call, calldata, tx_hash
from timemachine.chain.jsonrpc_server import JsonRpcServer
from timemachine.chain.rpc import RpcClient
from timemachine.cli.main import app
from timemachine.errors import BlockNotFoundError, MevInputError, TraceApiUnavailableError
from timemachine.mev import (
    RpcTraceSource,
    block_from_calltracer,
    block_from_json,
    block_from_replays,
    inspect_block,
    load_block_file,
)
from timemachine.mev.models import Receipt
from timemachine.mev.specs.erc20 import TRANSFER
from timemachine.mev.specs.uniswap import V2_SWAP
from timemachine.models import ReplayResult

WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
TOKEN = address(0xAAAA)
TRADER = address(0x7EAD)
PAIR = address(0xBA1)
MINER = address(0x111)
TX = tx_hash(1)
SWAP_INPUT = calldata(V2_SWAP, 0, 100, TRADER, b"")


def parity_traces() -> list[dict[str, Any]]:
    return [
        call(TX, 0, [], TRADER, TRADER, "0x12345678"),
        call(TX, 0, [0], TRADER, WETH, calldata(TRANSFER, PAIR, 10)),
        call(TX, 0, [1], TRADER, PAIR, SWAP_INPUT),
        call(TX, 0, [1, 0], PAIR, TOKEN, calldata(TRANSFER, TRADER, 100)),
        call(TX, 0, [2], TRADER, address(0x99), "0xdeadbeef", error="Reverted"),
        call(TX, 0, [3], TRADER, address(0x98), "0xdeadbeef", error="Out of gas"),
    ]


def frame(sender: str, to: str, data: str, calls: list[Any] | None = None, **extra: Any) -> Any:
    return {
        "type": "CALL",
        "from": sender,
        "to": to,
        "value": "0x0",
        "gas": "0x10",
        "gasUsed": "0x1",
        "input": data,
        "output": "0x",
        "calls": calls or [],
        **extra,
    }


def calltracer_tree() -> Any:
    return frame(TRADER, TRADER, "0x12345678", [
        frame(TRADER, WETH, calldata(TRANSFER, PAIR, 10)),
        frame(TRADER, PAIR, SWAP_INPUT, [frame(PAIR, TOKEN, calldata(TRANSFER, TRADER, 100))]),
        frame(TRADER, address(0x99), "0xdeadbeef", error="execution reverted"),
        frame(TRADER, address(0x98), "0xdeadbeef", error="out of gas"),
    ])  # fmt: skip


def _as_callframe(tree: Any) -> dict[str, Any]:
    """A callTracer JSON frame as our CallFrame model's fields (ints, snake_case)."""
    frame = {k: v for k, v in tree.items() if k not in ("gasUsed", "calls")}
    frame.update(value=int(tree["value"], 16), gas=int(tree["gas"], 16))
    frame["gas_used"] = int(tree["gasUsed"], 16)
    frame["calls"] = [_as_callframe(child) for child in tree["calls"]]
    return frame


def _camel(trace: dict[str, Any]) -> dict[str, Any]:
    names = {"block_hash": "blockHash", "block_number": "blockNumber",
             "trace_address": "traceAddress", "transaction_hash": "transactionHash",
             "transaction_position": "transactionPosition"}  # fmt: skip
    return {names.get(key, key): value for key, value in trace.items()}


def _swap_fields(block_traces: Any) -> list[tuple[Any, ...]]:
    result = inspect_block(block_traces)
    return [
        (s.contract_address, s.token_in_address, s.token_in_amount, s.token_out_amount)
        for s in result.swaps
    ]


EXPECTED_SWAP = [(PAIR, WETH, 10, 100)]


def test_snake_and_camel_case_documents_read_the_same() -> None:
    snake = block_from_json({"block_number": 100, "traces": parity_traces()})
    camel = block_from_json([_camel(t) for t in parity_traces()])
    assert camel.block_number == 100
    assert [(t.trace_address, t.error, t.input) for t in snake.traces] == [
        (t.trace_address, t.error, t.input) for t in camel.traces
    ]
    assert _swap_fields(snake) == _swap_fields(camel) == EXPECTED_SWAP


def test_calltracer_is_flattened_with_parity_error_wording() -> None:
    block = block_from_calltracer(
        [{"txHash": TX, "result": calltracer_tree()}], block_number=100, miner=MINER
    )
    assert [t.trace_address for t in block.traces] == [(), (0,), (1,), (1, 0), (2,), (3,)]
    assert [t.error for t in block.traces][4:] == ["Reverted", "Out of gas"]
    assert block.traces[4].gas_used == 1  # a revert keeps its result
    assert block.traces[5].gas_used is None  # any other failure has none (Parity)
    assert {t.transaction_hash for t in block.traces} == {TX}
    assert _swap_fields(block) == EXPECTED_SWAP
    # bare frames take their hashes from the receipts, in order
    receipt = Receipt(TX, 0, 21000, 9)
    bare = block_from_calltracer([calltracer_tree()], block_number=100, receipts=[receipt])
    assert {t.transaction_hash for t in bare.traces} == {TX}
    with pytest.raises(MevInputError, match="no transaction hash"):
        block_from_calltracer([calltracer_tree()], block_number=100)


def test_replay_results_are_a_source() -> None:
    result = ReplayResult.model_validate(
        {
            "tx_hash": TX, "chain_id": 1, "chain": "ethereum", "block_number": 100,
            "tx_index": 0, "hardfork": "cancun", "mode": "exact", "sender": TRADER, "to": TRADER,
            "block_env": {"number": 100, "timestamp": 1, "coinbase": MINER, "gas_limit": 30_000_000,
                          "base_fee": 7},
            "preceding_txs_replayed": 0, "original": None,
            "replayed": {"status": 1, "gas_used": 21000},
            "fidelity": {"verdict": "exact"}, "trace": _as_callframe(calltracer_tree()),
            "state_diff": {},
            "rpc_requests": 0,
        }
    )  # fmt: skip
    block = block_from_replays([result])
    assert (block.block_number, block.miner, block.base_fee_per_gas) == (100, MINER, 7)
    assert _swap_fields(block) == EXPECTED_SWAP
    with pytest.raises(MevInputError):
        block_from_replays([])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"block_number": 1, "traces": [', "not valid JSON (truncated?)"),
        (b'{"hello": 1}', "not a trace_block document"),
        (b'[{"type": "call"}]', "not a valid trace_block document"),
        (b'[{"type": "call", "action": {"from": "0x1", "to": "0x2"}, "trace_address": []}]',
         "without a transaction hash"),
    ],
)  # fmt: skip
def test_bad_block_files_raise_one_clear_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "block.json"
    path.write_bytes(content)
    with pytest.raises(MevInputError, match=re.escape(message)):
        load_block_file(path)


# ------------------------------------------------------------------ a node on loopback

HEADER = {"number": "0x64", "miner": MINER, "baseFeePerGas": "0x7", "timestamp": "0x1",
          "transactions": [TX]}  # fmt: skip
RECEIPT = {"transactionHash": TX, "transactionIndex": "0x0", "gasUsed": "0x5208",
           "effectiveGasPrice": "0x9", "to": TRADER, "from": TRADER,
           "blockNumber": "0x64"}  # fmt: skip


class Node:
    """A JSON-RPC node (real HTTP) that serves block 100 with the tracing methods it is given."""

    def __init__(self, methods: set[str]) -> None:
        self.methods = methods
        self.calls: list[str] = []
        self.server = JsonRpcServer(self.handle)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> str:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self.server.url

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def handle(self, payload: Any) -> Any:
        if isinstance(payload, list):
            return [await self.handle(item) for item in payload]
        method, params = payload["method"], payload["params"]
        self.calls.append(method)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": payload["id"]}
        if method == "eth_getBlockByNumber":
            reply["result"] = HEADER if params[0] == "0x64" else None
        elif method == "eth_getBlockReceipts":
            reply["result"] = [RECEIPT]
        elif method == "eth_getTransactionReceipt":
            reply["result"] = RECEIPT if params[0] == TX else None
        elif method == "trace_block" and method in self.methods:
            reply["result"] = [_camel(t) for t in parity_traces()]
        elif method == "debug_traceBlockByNumber" and method in self.methods:
            reply["result"] = [{"txHash": TX, "result": calltracer_tree()}]
        else:
            reply["error"] = {"code": -32601, "message": f"the method {method} does not exist"}
        return reply


@pytest.fixture
def node(request: pytest.FixtureRequest) -> Iterator[tuple[str, Node]]:
    server = Node(set(request.param))
    url = server.start()
    yield url, server
    server.stop()


@pytest.mark.parametrize(
    "node", [["trace_block"], ["debug_traceBlockByNumber"]], indirect=True, ids=["parity", "geth"]
)
async def test_live_node_with_either_tracing_method(node: tuple[str, Node]) -> None:
    url, _ = node
    async with RpcClient(url) as rpc:
        block = await RpcTraceSource(rpc).block(100)
    assert (block.block_number, block.miner, block.base_fee_per_gas) == (100, MINER, 7)
    assert [(r.transaction_hash, r.gas_used, r.effective_gas_price) for r in block.receipts] == [
        (TX, 21000, 9)
    ]
    assert _swap_fields(block) == EXPECTED_SWAP
    assert [t.error for t in block.traces][4:] == ["Reverted", "Out of gas"]


@pytest.mark.parametrize("node", [[]], indirect=True)
async def test_node_without_tracing_and_unknown_block(node: tuple[str, Node]) -> None:
    url, _ = node
    async with RpcClient(url) as rpc:
        with pytest.raises(TraceApiUnavailableError, match="neither trace_block nor debug"):
            await RpcTraceSource(rpc).block(100)
        with pytest.raises(BlockNotFoundError):
            await RpcTraceSource(rpc).block(5)


# ------------------------------------------------------------------ the CLI


def test_cli_block_files_json_has_integer_amounts(tmp_path: Path) -> None:
    path = tmp_path / "100.json"
    path.write_text(json.dumps({"block_number": 100, "miner": MINER, "traces": parity_traces()}))
    result = CliRunner().invoke(app, ["mev", "inspect", "--block-file", str(path), "--json"])
    assert result.exit_code == 0, result.output
    (block,) = json.loads(result.stdout)["blocks"]
    assert set(block) >= {"block_number", "swaps", "arbitrages", "sandwiches", "liquidations",
                          "jit_liquidity", "miner_payments", "summary"}  # fmt: skip
    (swap,) = block["swaps"]
    assert (swap["token_in_amount"], swap["token_out_amount"]) == (10, 100)
    assert '"token_in_amount": 10,' in result.stdout  # an integer in the JSON, not a float


def test_cli_bad_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"traces": [')
    result = CliRunner().invoke(app, ["mev", "inspect", "-f", str(path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert "not valid JSON" in result.stderr


@pytest.mark.parametrize("node", [[]], indirect=True)
def test_cli_node_without_tracing_exits_4_and_unknown_block_3(node: tuple[str, Node]) -> None:
    url, _ = node
    result = CliRunner().invoke(app, ["mev", "inspect", "--blocks", "100:101", "-r", url])
    assert result.exit_code == 4
    assert "neither trace_block nor debug_traceBlockByNumber" in result.stderr
    result = CliRunner().invoke(app, ["mev", "inspect", "--blocks", "5:6", "-r", url])
    assert result.exit_code == 3
    assert "block 5 is not known" in result.stderr


@pytest.mark.parametrize("node", [["trace_block"]], indirect=True)
def test_cli_range_and_tx_hash(node: tuple[str, Node]) -> None:
    url, _ = node
    result = CliRunner().invoke(app, ["mev", "inspect", "--blocks", "100:101", "-r", url, "--json"])
    assert result.exit_code == 0, result.stderr
    assert [b["block_number"] for b in json.loads(result.stdout)["blocks"]] == [100]
    result = CliRunner().invoke(app, ["mev", "inspect", TX, "-r", url, "--json"])
    assert result.exit_code == 0, result.stderr
    (block,) = json.loads(result.stdout)["blocks"]
    assert [s["transaction_hash"] for s in block["swaps"]] == [TX]
    assert [p["transaction_hash"] for p in block["miner_payments"]] == [TX]
    result = CliRunner().invoke(app, ["mev", "inspect", tx_hash(2), "-r", url])
    assert result.exit_code == 3
    result = CliRunner().invoke(app, ["mev", "inspect", "--blocks", "101:100", "-r", url])
    assert result.exit_code == 2


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from timemachine.settings import get_settings

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TIME_MACHINE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_cli_store_replaces_and_bad_input_stores_nothing(data_dir: Path) -> None:
    from timemachine.settings import get_settings
    from timemachine.store import MevResults, open_database

    good = data_dir / "100.json"
    good.write_text(json.dumps({"block_number": 100, "miner": MINER, "traces": parity_traces()}))
    bad = data_dir / "bad.json"
    bad.write_text("[")
    for _ in range(2):  # twice: replaced, not doubled
        result = CliRunner().invoke(app, ["mev", "inspect", "-f", str(good), "--store"])
        assert result.exit_code == 0, result.stderr
        assert "stored 1 findings of 1 blocks (chain 1)" in result.stderr
    other = data_dir / "101.json"
    other.write_text(json.dumps({"block_number": 101, "traces": parity_traces()}))
    result = CliRunner().invoke(
        app, ["mev", "inspect", "-f", str(other), "-f", str(bad), "--store"]
    )
    assert result.exit_code == 2
    database = open_database(get_settings().database_url)
    try:
        with database.session() as s:
            store = MevResults(s)
            assert store.inspected_blocks(1, 0, 1000) == [100]  # not 101: its batch failed
            (swap,) = store.query(1).items
            assert (swap.type, swap.pool) == ("swap", PAIR)
    finally:
        database.dispose()
