"""The mempool monitor on a live anvil with mining paused: every sent transaction is ingested
once (two providers), enriched, and reaches included / replaced (speed-up, cancel) / dropped;
a scenario's exploit sent to the pool is simulated, with the right top finding, before the block
that includes it is mined."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.monitor_support import (
    live_monitor,
    raw_transaction,
    scenario_of_class,
    wait_for,
)
from timemachine.catalog.devnet import actor_account, actor_address
from timemachine.chain.jsonrpc_server import JsonRpcServer
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet
from timemachine.errors import RpcError
from timemachine.monitor.traffic import GWEI
from timemachine.store.monitor import MonitoredTxs

pytestmark = pytest.mark.integration

ETHER = 10**18


async def test_lifecycle_of_every_sent_transaction(devnet: Devnet, tmp_path: Path) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    async with live_monitor(devnet, before, tmp_path, simulate="none") as live:
        monitor, traffic = live.chain.monitor, live.chain.traffic
        alice, bob, carol, dave = (actor_account(n) for n in ("alice", "bob", "carol", "dave"))
        plain = await traffic.transfer(alice, actor_address("erin"), 1 * ETHER)
        slow = await traffic.transfer(bob, actor_address("erin"), 2 * ETHER, fee=20 * GWEI)
        slow_nonce = traffic._nonces[bob.address] - 1
        doomed = await traffic.transfer(carol, actor_address("erin"), 3 * ETHER)
        carol_nonce = traffic._nonces[carol.address] - 1
        lost = await traffic.transfer(dave, actor_address("erin"), 4 * ETHER)
        first = [plain, slow, doomed, lost]

        def seen_by_both(*hashes: str) -> bool:
            records = [monitor.lifecycle.get(h) for h in hashes]
            return all(r is not None and len(r.first_seen) == 2 for r in records)

        await wait_for(lambda: seen_by_both(*first), "the first four, from both providers")

        fast = await traffic.transfer(
            bob, actor_address("erin"), 2 * ETHER, nonce=slow_nonce, fee=40 * GWEI, tip=2 * GWEI
        )
        cancel = await traffic.cancel(carol, carol_nonce, fee=100 * GWEI, tip=5 * GWEI)
        await traffic.rpc.call("anvil_dropTransaction", [lost])
        await wait_for(lambda: seen_by_both(fast, cancel), "the replacements")
        assert monitor.lifecycle.get(slow).replacement == "speed_up"  # type: ignore[union-attr]
        assert monitor.lifecycle.get(doomed).replacement == "cancel"  # type: ignore[union-attr]

        block = await live.chain.mine()
        await wait_for(lambda: monitor.lifecycle.get(plain).status == "included", "inclusion")  # type: ignore[union-attr]
        for _ in range(2):
            await live.chain.mine()
        await wait_for(lambda: monitor.lifecycle.get(lost).status == "dropped", "the drop")  # type: ignore[union-attr]

        records = {h: monitor.lifecycle.get(h) for h in [*first, fast, cancel]}
        statuses = {h: r.status for h, r in records.items() if r is not None}
        assert statuses == {
            plain: "included",
            slow: "replaced",
            doomed: "replaced",
            lost: "dropped",
            fast: "included",
            cancel: "included",
        }
        included = records[plain]
        assert included is not None
        assert included.block_number == block
        assert included.position is not None
        assert included.inclusion_latency is not None
        assert included.inclusion_latency >= 0
        assert records[slow].replaced_by == fast  # type: ignore[union-attr]
        assert records[doomed].replaced_by == cancel  # type: ignore[union-attr]
        # one record per transaction although both providers showed each one
        for record in records.values():
            assert record is not None
            assert record.enrichment.kind == "transfer"
            assert record.enrichment.labels[record.tx.sender] in ("alice", "bob", "carol", "dave")
            assert len(record.first_seen) == 2
        providers = monitor.ingestor.providers
        assert sum(counts.first for counts in providers.values()) == len(traffic.sent)
        assert monitor.ingestor.malformed == 0

        monitor.flush()
        with live.database.session() as session:
            stored = MonitoredTxs(session)
            assert stored.counts("devnet") == {"included": 3, "replaced": 2, "dropped": 1}
            row = stored.get("devnet", slow)
            assert row is not None
            assert (row["status"], row["replaced_by"]) == ("replaced", fast)


async def test_exploit_is_flagged_while_pending_then_included(
    devnet: Devnet, tmp_path: Path
) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    async with live_monitor(devnet, before, tmp_path, simulate="all") as live:
        monitor = live.chain.monitor
        raw = await raw_transaction(devnet, before.exploit_tx)
        sent = await live.chain.traffic.send_raw(raw)
        assert sent == before.exploit_tx.lower()
        head = monitor.head.number  # type: ignore[union-attr]

        await wait_for(
            lambda: (r := monitor.lifecycle.get(sent)) is not None and r.simulation is not None,
            "the exploit's simulation",
        )
        record = monitor.lifecycle.get(sent)
        assert record is not None
        assert record.simulation is not None
        assert record.status == "pending"
        assert (
            int(await live.chain.traffic.rpc.call("eth_blockNumber"), 16) == head
        )  # not mined yet
        simulation = record.simulation
        assert simulation.error is None
        assert simulation.head == head
        assert simulation.success
        top = simulation.top_finding
        assert top is not None
        assert top.vulnerability_class.value == "reentrancy"
        assert top.severity in ("critical", "high")
        assert any(alert["hash"] == sent for alert in monitor.notable)

        block = await live.chain.mine()
        await wait_for(lambda: record.status == "included", "the exploit's inclusion")
        assert record.block_number == block


async def test_reorged_out_and_included_again(devnet: Devnet, tmp_path: Path) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    async with live_monitor(devnet, before, tmp_path, simulate="none") as live:
        monitor, traffic = live.chain.monitor, live.chain.traffic
        fork_point = await traffic.rpc.call("evm_snapshot")
        sent = await traffic.transfer(actor_account("alice"), actor_address("bob"), ETHER)
        raw = await traffic.rpc.call("eth_getRawTransactionByHash", [sent])
        await wait_for(lambda: monitor.lifecycle.get(sent) is not None, "the transaction")
        block = await live.chain.mine()
        record = monitor.lifecycle.get(sent)
        assert record is not None
        await wait_for(lambda: record.status == "included", "the first inclusion")
        first_hash = record.block_hash

        await traffic.rpc.call("evm_revert", [fork_point])  # back to the parent, then
        await live.chain.mine()  # a new branch at that height, without the transaction
        await wait_for(lambda: record.reorged == 1, "the reorg")
        assert (record.status, record.block_number) == ("pending", None)
        await traffic.send_raw(raw)  # back in the pool (anvil does not put it back itself)
        again = await live.chain.mine()
        await wait_for(lambda: record.status == "included", "the inclusion on the new branch")
        assert (record.block_number, again) == (block + 1, block + 1)
        assert record.reorged == 1
        assert record.block_hash != first_hash
        (reorg,) = monitor.chain.tracker.reorgs
        assert (reorg.depth, reorg.old[0].hash) == (1, first_hash)


class GarbageProvider:
    """A provider that forwards to a real node but answers pending-transaction polls with
    garbage: unreadable items, and transactions that are not transactions."""

    def __init__(self) -> None:
        self.server = JsonRpcServer(self.answer)
        self.target = ""

    async def answer(self, payload: Any) -> Any:
        if isinstance(payload, list):
            return [await self.answer(item) for item in payload]
        method, request_id = payload.get("method"), payload.get("id")
        if method == "eth_newPendingTransactionFilter":
            return {"jsonrpc": "2.0", "id": request_id, "result": "0x1"}
        if method == "eth_getFilterChanges" and payload["params"] == ["0x1"]:
            junk = [42, {"hash": "0x12"}, {"hash": "0x" + "ab" * 32, "from": 7}, None]
            return {"jsonrpc": "2.0", "id": request_id, "result": junk}
        async with RpcClient(self.target, retries=0) as node:
            try:
                result = await node.call(method, payload.get("params", []))
            except RpcError as error:
                return {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {"code": -32000, "message": error.message},
                }
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def providers(self, url: str) -> str:
        self.target = url
        return f"{url},{self.server.url}"


async def test_a_provider_sending_garbage_is_counted_and_skipped(
    devnet: Devnet, tmp_path: Path
) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    garbage = GarbageProvider()
    await garbage.server.start()
    try:
        async with live_monitor(
            devnet, before, tmp_path, simulate="none", providers=garbage.providers
        ) as live:
            monitor, traffic = live.chain.monitor, live.chain.traffic
            counts = monitor.ingestor.providers
            await wait_for(
                lambda: garbage.server.url in counts and counts[garbage.server.url].malformed >= 9,
                "three polls of garbage",
            )
            sent = [
                await traffic.transfer(actor_account(name), actor_address("erin"), ETHER)
                for name in ("alice", "bob")
            ]
            await wait_for(
                lambda: all(monitor.lifecycle.get(h) is not None for h in sent),
                "the real transactions, from the real node",
            )
            block = await live.chain.mine()
            await wait_for(
                lambda: monitor.head is not None and monitor.head.number >= block,
                "the block, through both providers",
                timeout=120,
            )
            assert all(monitor.lifecycle.get(h).status == "included" for h in sent)  # type: ignore[union-attr]
            assert counts[garbage.server.url].first == 0
            assert monitor.ingestor.malformed == counts[garbage.server.url].malformed
            assert sum(c.first for c in counts.values()) == len(sent)
    finally:
        await garbage.server.stop()


async def test_a_simulation_over_its_deadline_is_reported_and_the_fork_recovers(
    devnet: Devnet, tmp_path: Path
) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    async with live_monitor(devnet, before, tmp_path, simulate="all", deadline=0.001) as live:
        monitor, traffic = live.chain.monitor, live.chain.traffic
        simulator = monitor.simulator
        assert simulator is not None

        def simulated(tx_hash: str) -> bool:
            record = monitor.lifecycle.get(tx_hash)
            return record is not None and record.simulation is not None

        late = await traffic.transfer(actor_account("alice"), actor_address("bob"), ETHER)
        await wait_for(lambda: simulated(late), "the first outcome")
        outcome = monitor.lifecycle.get(late).simulation  # type: ignore[union-attr]
        assert outcome is not None
        assert (outcome.success, outcome.error) == (False, "over the 0.001 s deadline")
        assert simulator.stats.timed_out == 1

        simulator.deadline = 30.0
        for name in ("bob", "carol"):  # both forks, one of them cut short before
            on_time = await traffic.transfer(actor_account(name), actor_address("erin"), ETHER)
            await wait_for(lambda: simulated(on_time), "an outcome in time")  # noqa: B023
            result = monitor.lifecycle.get(on_time).simulation  # type: ignore[union-attr]
            assert result is not None
            assert (result.success, result.error) == (True, None)
