"""A devnet with a few thousand blocks for the archive tests: the bundled scenarios' history
(nested calls, reverts, creations), then blocks of ERC-20 transfers and ether payments, then
empty blocks mined with `anvil_mine`. Every transaction is in the first `BUSY_BLOCKS` blocks."""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.catalog.artifacts import BUNDLED, load_artifact
from timemachine.chain.rpc import RpcClient
from timemachine.hexutil import parse_int

EMPTY_BLOCKS = 2_000
BUSY_BLOCKS = 200
MINE_STEP = 250
TRANSFER_BLOCKS = 12
TRANSFERS_PER_BLOCK = 3


@dataclass
class ArchiveHistory:
    """What the builder added on top of the devnet's history."""

    token: str = ""
    transfer_txs: list[str] = field(default_factory=list)
    payment_txs: list[str] = field(default_factory=list)
    head: int = 0


async def add_archive_history(rpc: RpcClient) -> ArchiveHistory:
    """Append the blocks described in the module doc; returns the new head and the txs.
    `rpc` must not retry (a retried `anvil_mine` would mine twice)."""
    history = ArchiveHistory()
    token = load_artifact("DemoToken", BUNDLED)
    accounts = await rpc.call("eth_accounts")
    owner = accounts[0]
    await rpc.call("evm_setAutomine", [False])
    deploy = {"from": owner, "data": "0x" + token.deploy_data("Archive", "ARC").hex()}
    deployed = await rpc.call("eth_sendTransaction", [{**deploy, "gas": hex(3_000_000)}])
    await rpc.call("anvil_mine", ["0x1"])
    history.token = (await rpc.call("eth_getTransactionReceipt", [deployed]))["contractAddress"]
    mint = "0x" + token.calldata("mint", owner, 10**27).hex()
    await rpc.call("eth_sendTransaction", [{"from": owner, "to": history.token, "data": mint}])
    await rpc.call("anvil_mine", ["0x1"])
    for block in range(TRANSFER_BLOCKS):
        for index in range(TRANSFERS_PER_BLOCK):
            data = token.calldata("transfer", accounts[1 + index], 10**18 * (block + 1))
            call = {"from": owner, "to": history.token, "data": "0x" + data.hex()}
            history.transfer_txs.append(await rpc.call("eth_sendTransaction", [call]))
        payment = {"from": accounts[2], "to": accounts[3], "value": hex(12_345 + block)}
        history.payment_txs.append(await rpc.call("eth_sendTransaction", [payment]))
        await rpc.call("anvil_mine", ["0x1"])
    busy = parse_int(await rpc.call("eth_blockNumber"))
    assert busy < BUSY_BLOCKS, f"the history grew past {BUSY_BLOCKS} blocks ({busy})"
    for _ in range(0, EMPTY_BLOCKS, MINE_STEP):  # short calls: a loaded machine mines slowly
        await rpc.call("anvil_mine", [hex(MINE_STEP)])
    await rpc.call("evm_setAutomine", [True])
    history.head = parse_int(await rpc.call("eth_blockNumber"))
    return history
