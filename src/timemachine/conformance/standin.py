"""A go-ethereum tracer fixture served as a chain: a loopback JSON-RPC node answering from it.

The fixture's parent header is block `number - 1` (its state is the fixture's alloc, at any tag),
the fixture's block holds its one transaction at index 0, and the node speaks the methods a replay
asks of a provider: chain id, blocks, the transaction and its receipt, balances, nonces, code and
storage, and (when `debug_api`) geth's prestateTracer of the block, which is the fixture's alloc
itself. Like a geth node it reports its chain config in `admin_nodeInfo`, which the engine reads
for chains the registry has no schedule for.

The receipt holds what the fixture records: status, gas used and the logs of a callTracer
(withLog) result. A prestateTracer or flatCallTracer fixture does not record its gas used; its
receipt says 0 (`receipt_recorded` tells which fixtures' verdicts can be judged).

A fixture whose chain id is registered with a schedule that disagrees with the fixture's own
config at its block (test chains reusing id 1 with every fork at block 0) is served under an id
outside the registry (`UNREGISTERED_OFFSET` + id), so the fixture's config decides its fork, as in
geth's runner; CHAINID is then the only thing that differs, and no such fixture reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rlp
from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from timemachine.chain.jsonrpc_server import JsonRpcServer
from timemachine.chain.registry import create_address, get_chain, hardfork_for_block
from timemachine.conformance.geth import Fixture
from timemachine.hexutil import hex_to_bytes, quantity

UNREGISTERED_OFFSET = 1 << 40
_ZERO_HASH = "0x" + "00" * 32
_EMPTY_TRIE = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
_EMPTY_UNCLES = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
_FIELD_NAMES = {
    "chainId": "chainId",
    "nonce": "nonce",
    "gas": "gas",
    "value": "value",
    "maxPriorityFeePerGas": "maxPriorityFeePerGas",
    "maxFeePerGas": "maxFeePerGas",
    "maxFeePerBlobGas": "maxFeePerBlobGas",
    "gasPrice": "gasPrice",
}


def receipt_recorded(fixture: Fixture) -> bool:
    """Whether the fixture records the receipt's logs (a callTracer with logs of every frame)."""
    config = fixture.tracer_config
    return (
        fixture.tracer == "callTracer"
        and bool(config.get("withLog"))
        and not config.get("onlyTopCall")
    )


def served_chain_id(fixture: Fixture) -> int:
    """The chain id the stand-in serves the fixture under (see the module docstring)."""
    chain_id = quantity((fixture.genesis.get("config") or {}).get("chainId")) or 1
    chain = get_chain(chain_id)
    if chain.schedule is None:
        return chain_id
    block = {"number": hex(fixture.number), "timestamp": hex(fixture.timestamp)}
    if hardfork_for_block(chain, block) == fixture.hardfork:
        return chain_id
    return UNREGISTERED_OFFSET + chain_id


class StandinNode:
    """A chain of two blocks (`parent`, then `block` with full transactions) whose state at the
    parent is `alloc`, answering JSON-RPC (start it with `serve`). `config` is the geth chain
    config it reports; `prestates` the prestateTracer result of each of the block's
    transactions, served by debug_traceBlockByNumber (None: no debug API)."""

    def __init__(
        self,
        chain_id: int,
        parent: dict[str, Any],
        block: dict[str, Any],
        receipts: list[dict[str, Any]],
        alloc: Mapping[str, Mapping[str, Any]],
        *,
        config: Mapping[str, Any] | None = None,
        prestates: list[Mapping[str, Any]] | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.parent = parent
        self.block = block
        self.receipts = receipts
        self.alloc = {address.lower(): account for address, account in alloc.items()}
        self.config = config
        self.prestates = prestates
        self.methods: list[str] = []
        """Every method asked, in order (tests read which round trips a replay made)."""

    async def handle(self, payload: Any) -> Any:
        if isinstance(payload, list):
            return [await self.handle(item) for item in payload]
        method, params = str(payload.get("method")), list(payload.get("params") or [])
        self.methods.append(method)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": payload.get("id")}
        try:
            reply["result"] = self.answer(method, params)
        except LookupError as error:
            reply["error"] = {"code": -32601, "message": f"the method {error} does not exist"}
        return reply

    def answer(self, method: str, params: list[Any]) -> Any:
        """One method's result (LookupError naming a method the stand-in does not serve)."""
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "web3_clientVersion":
            return "Geth/stand-in"
        if method == "admin_nodeInfo" and self.config is not None:
            return {"protocols": {"eth": {"config": {**self.config, "chainId": self.chain_id}}}}
        if method == "eth_blockNumber":
            return self.block["number"]
        if method in ("eth_getBlockByNumber", "eth_getBlockByHash"):
            return self._block_of(params[0], full=bool(params[1]) if len(params) > 1 else False)
        if method == "eth_getTransactionByHash":
            return _by_hash(self.block["transactions"], "hash", params[0])
        if method == "eth_getTransactionReceipt":
            return _by_hash(self.receipts, "transactionHash", params[0])
        if method == "eth_getBlockReceipts":
            found = self._block_of(params[0], full=False) or {}
            return self.receipts if found.get("hash") == self.block["hash"] else None
        if method in _ACCOUNT_FIELDS:
            return _ACCOUNT_FIELDS[method](self.alloc.get(str(params[0]).lower()) or {})
        if method == "eth_getStorageAt":
            storage = (self.alloc.get(str(params[0]).lower()) or {}).get("storage") or {}
            return _slot_value(storage, quantity(params[1]) or 0)
        if method == "debug_traceBlockByNumber" and self.prestates is not None:
            return [
                {"txHash": tx["hash"], "result": dict(prestate)}
                for tx, prestate in zip(self.block["transactions"], self.prestates, strict=True)
            ]
        raise LookupError(method)

    def _block_of(self, tag: Any, *, full: bool) -> dict[str, Any] | None:
        """The block or its parent, by number, hash or "latest"."""
        number = quantity(tag) if str(tag).startswith("0x") and len(str(tag)) < 66 else None
        for block in (self.block, self.parent):
            if (
                tag == block["hash"]
                or number == quantity(block["number"])
                or (tag == "latest" and block is self.block)
            ):
                if block is self.block and not full:
                    return {**block, "transactions": [tx["hash"] for tx in block["transactions"]]}
                return block
        return None


class FixtureNode(StandinNode):
    """A geth tracer fixture as a stand-in node (see the module docstring)."""

    def __init__(self, fixture: Fixture, *, debug_api: bool = True) -> None:
        self.fixture = fixture
        alloc = {
            address.lower(): account
            for address, account in (fixture.genesis.get("alloc") or {}).items()
        }
        self.tx = transaction_json(fixture)
        parent = self._parent_block()
        block = self._block(parent)
        self.tx.update(
            blockHash=block["hash"],
            blockNumber=block["number"],
            blockTimestamp=block["timestamp"],
            transactionIndex="0x0",
        )
        super().__init__(
            served_chain_id(fixture),
            parent,
            block,
            [self._receipt(block)],
            alloc,
            config=fixture.genesis.get("config") or {},
            # The fixture's alloc is geth's prestateTracer output for its transaction.
            prestates=[alloc] if debug_api else None,
        )

    def _parent_block(self) -> dict[str, Any]:
        genesis = self.fixture.genesis
        block = {
            **block_header(genesis, number=max(self.fixture.number - 1, 0)),
            "hash": genesis.get("hash") or "0x" + keccak(b"parent").hex(),
            "parentHash": _ZERO_HASH,
            "transactions": [],
        }
        if self.fixture.london:
            block["baseFeePerGas"] = hex(quantity(genesis.get("baseFeePerGas")) or 0)
        return block

    def _block(self, parent: dict[str, Any]) -> dict[str, Any]:
        fixture = self.fixture
        header = block_header(fixture.context, number=fixture.number)
        # geth's runner: PREVRANDAO is the parent's mixHash, only for a post-merge block.
        header["mixHash"] = fixture.genesis.get("mixHash") if fixture.merged else _ZERO_HASH
        if fixture.london:
            header["baseFeePerGas"] = hex(quantity(fixture.context.get("baseFeePerGas")) or 0)
        block = {
            **header,
            "hash": "0x" + keccak(parent["hash"].encode() + b"/child").hex(),
            "parentHash": parent["hash"],
            "transactions": [self.tx],
        }
        if "excessBlobGas" in fixture.genesis:
            # The runner prices blobs from a parent with no excess blob gas: the minimum fee.
            block["excessBlobGas"] = block["blobGasUsed"] = "0x0"
            parent["excessBlobGas"] = parent["blobGasUsed"] = "0x0"
        return block

    def _receipt(self, block: dict[str, Any]) -> dict[str, Any]:
        result = self.fixture.result if self.fixture.tracer == "callTracer" else {}
        gas_used = result.get("gasUsed", "0x0") if isinstance(result, dict) else "0x0"
        logs = [
            {
                "address": log.get("address"),
                "topics": log.get("topics") or [],
                "data": log.get("data") or "0x",
                "logIndex": hex(position),
                "transactionIndex": "0x0",
                "transactionHash": self.tx["hash"],
                "blockHash": block["hash"],
                "blockNumber": block["number"],
                "removed": False,
            }
            for position, log in enumerate(_surviving_logs(result))
        ]
        # geth's receipt names the created address of a creation, failed or not.
        created = (
            create_address(self.tx["from"], quantity(self.tx["nonce"]) or 0).lower()
            if self.tx.get("to") is None
            else None
        )
        return {
            "transactionHash": self.tx["hash"],
            "transactionIndex": "0x0",
            "blockHash": block["hash"],
            "blockNumber": block["number"],
            "from": self.tx["from"],
            "to": self.tx.get("to"),
            "status": "0x0" if isinstance(result, dict) and "error" in result else "0x1",
            "gasUsed": gas_used,
            "cumulativeGasUsed": gas_used,
            "effectiveGasPrice": self.tx.get("gasPrice") or "0x0",
            "logs": logs,
            "logsBloom": "0x" + "00" * 256,
            "contractAddress": created,
            "type": self.tx.get("type", "0x0"),
        }


async def serve(node: StandinNode) -> JsonRpcServer:
    """`node` listening on loopback (stop the returned server when done)."""
    server = JsonRpcServer(node.handle)
    await server.start()
    return server


def transaction_json(fixture: Fixture) -> dict[str, Any]:
    """The fixture's raw transaction as a node's eth_getTransactionByHash object."""
    raw = HexBytes(fixture.raw_tx)
    sender = Account.recover_transaction(raw).lower()
    tx: dict[str, Any] = {"hash": "0x" + keccak(raw).hex(), "from": sender}
    if raw[0] >= 0xC0:
        nonce, gas_price, gas, to, value, data, v, r, s = rlp.decode(bytes(raw))
        tx.update(
            type="0x0",
            nonce=hex(_int(nonce)),
            gasPrice=hex(_int(gas_price)),
            gas=hex(_int(gas)),
            to="0x" + bytes(to).hex() if to else None,
            value=hex(_int(value)),
            input="0x" + bytes(data).hex(),
            v=hex(_int(v)),
            r=hex(_int(r)),
            s=hex(_int(s)),
        )
        if _int(v) >= 35:
            tx["chainId"] = hex((_int(v) - 35) // 2)
        return tx
    fields = TypedTransaction.from_bytes(raw).as_dict()
    tx["type"] = hex(raw[0])
    for name, key in _FIELD_NAMES.items():
        if name in fields:
            tx[key] = hex(fields[name])
    to = fields.get("to")
    tx["to"] = "0x" + bytes(to).hex() if to else None
    tx["input"] = "0x" + bytes(fields.get("data") or b"").hex()
    tx["accessList"] = [
        {
            "address": "0x" + bytes(entry["address"]).hex(),
            "storageKeys": ["0x" + bytes(key).hex() for key in entry["storageKeys"]],
        }
        for entry in fields.get("accessList") or ()
    ]
    if "blobVersionedHashes" in fields:
        tx["blobVersionedHashes"] = ["0x" + bytes(h).hex() for h in fields["blobVersionedHashes"]]
    if "authorizationList" in fields:
        tx["authorizationList"] = [
            {
                "chainId": hex(item["chainId"]),
                "address": "0x" + bytes(item["address"]).hex(),
                "nonce": hex(item["nonce"]),
                "yParity": hex(item["yParity"]),
                "r": hex(item["r"]),
                "s": hex(item["s"]),
            }
            for item in fields["authorizationList"]
        ]
    tx.update(v=hex(fields["v"]), yParity=hex(fields["v"]), r=hex(fields["r"]), s=hex(fields["s"]))
    return tx


def _by_hash(items: list[dict[str, Any]], key: str, wanted: Any) -> dict[str, Any] | None:
    return next((item for item in items if item[key] == str(wanted).lower()), None)


def block_header(source: Mapping[str, Any], *, number: int) -> dict[str, Any]:
    """A JSON-RPC block header numbered `number` with `source`'s timestamp, miner, gas limit,
    difficulty, mix hash and state root (a block's own fields or a geth fixture's)."""
    return {
        "number": hex(number),
        "timestamp": hex(quantity(source.get("timestamp")) or 0),
        "miner": source.get("miner") or source.get("coinbase") or "0x" + "00" * 20,
        "gasLimit": hex(quantity(source.get("gasLimit")) or 0),
        "difficulty": hex(quantity(source.get("difficulty")) or 0),
        "mixHash": source.get("mixHash") or _ZERO_HASH,
        "nonce": "0x0000000000000000",
        "extraData": "0x",
        "stateRoot": source.get("stateRoot") or _ZERO_HASH,
        "gasUsed": "0x0",
        "logsBloom": "0x" + "00" * 256,
        "uncles": [],
        "sha3Uncles": _EMPTY_UNCLES,
        "transactionsRoot": _EMPTY_TRIE,
        "receiptsRoot": _EMPTY_TRIE,
        "size": "0x0",
        "totalDifficulty": "0x0",
    }


def _surviving_logs(frame: Any) -> list[dict[str, Any]]:
    """The receipt's logs: those of frames that did not fail, in emission order."""
    found: list[dict[str, Any]] = []

    def walk(node: Mapping[str, Any]) -> None:
        if node.get("error"):
            return
        found.extend(node.get("logs") or [])
        for child in node.get("calls") or ():
            walk(child)

    if isinstance(frame, Mapping):
        walk(frame)
    return sorted(found, key=lambda log: quantity(log.get("index")) or 0)


def _slot_value(storage: Mapping[str, Any], slot: int) -> str:
    for key, value in storage.items():
        if quantity(key) == slot:
            return "0x" + (hex_to_bytes(value) or b"").rjust(32, b"\0").hex()
    return _ZERO_HASH


def _int(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _account_info(account: Mapping[str, Any]) -> dict[str, str]:
    return {
        "balance": hex(quantity(account.get("balance")) or 0),
        "nonce": hex(quantity(account.get("nonce")) or 0),
        "code": account.get("code") or "0x",
    }


_ACCOUNT_FIELDS = {
    "eth_getBalance": lambda account: _account_info(account)["balance"],
    "eth_getTransactionCount": lambda account: _account_info(account)["nonce"],
    "eth_getCode": lambda account: _account_info(account)["code"],
    "eth_getAccountInfo": _account_info,
}
