"""Issue 18 end to end on the devnet with mining paused: a scenario's exploit sent to the pool
matches `stage == "pending" and finding.severity >= "high"` and a real local HTTP receiver gets
one signed webhook, and a real SMTP server (STARTTLS) the e-mail, before the block is mined —
in the library and through `timemachine monitor --rules FILE`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.integration.monitor_support import (
    live_monitor,
    raw_transaction,
    scenario_of_class,
    wait_for,
)
from tests.integration.test_monitor_cli import _command, _env, _next_event
from tests.unit.alert_support import http_receiver, starttls_server
from timemachine.alerts.signing import verify
from timemachine.bus import LocalBus
from timemachine.chain.rpc import RpcClient
from timemachine.devnet import Devnet
from timemachine.forks.manager import ForkManager
from timemachine.monitor.alerting import running_rules
from timemachine.monitor.setup import PAUSED_CHAIN_ARGS
from timemachine.ports import ForkSpec
from timemachine.rules import load_text
from timemachine.security.outbound import OutboundPolicy
from timemachine.store import open_database
from timemachine.store.alerts import AlertStore

pytestmark = pytest.mark.integration

SECRET = "hook-secret-e2e"
RULE = """
rules:
  - id: exploit-before-inclusion
    when: 'stage == "pending" and finding.severity >= "high"'
    severity: critical
    notify: [{channels}]
"""


def rule_file(hook_url: str, smtp_port: int | None = None) -> str:
    """The issue's example rule notifying a signed webhook (and an e-mail via `smtp_port`)."""
    hook = f'{{type: webhook, url: "{hook_url}/hook", secret: "${{HOOK_SECRET}}"}}'
    channels = {"ops-hook": hook}
    if smtp_port is not None:
        channels["ops-mail"] = (
            f"{{type: email, smtp_host: localhost, smtp_port: {smtp_port}, "
            "from: tm@example.org, to: [ops@example.org]}"
        )
    lines = "".join(f"  {name}: {spec}\n" for name, spec in channels.items())
    return "channels:\n" + lines + RULE.format(channels=", ".join(channels))


async def test_exploit_alert_delivered_before_inclusion(devnet: Devnet, tmp_path: Path) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    raw = await raw_transaction(devnet, before.exploit_tx)
    database = open_database(f"sqlite:///{tmp_path / 'alerts.db'}")
    with http_receiver() as receiver, starttls_server(tmp_path) as (port, inbox, client_tls):
        rules = load_text(rule_file(receiver.url, port), environ={"HOOK_SECRET": SECRET})
        bus = LocalBus()
        try:
            async with (
                running_rules(
                    rules,
                    database,
                    bus,
                    devnet.history.chain_id,
                    policy=OutboundPolicy.from_spec("127.0.0.1, localhost"),
                    ssl_context=client_tls,
                ) as feed,
                live_monitor(devnet, before, tmp_path, hook=feed) as live,
            ):
                traffic = live.chain.traffic
                head = live.chain.monitor.head.number  # type: ignore[union-attr]
                sent = await traffic.send_raw(raw)

                await wait_for(lambda: len(receiver.requests) >= 1, "the signed webhook")
                # mining is paused: nothing has been mined since the webhook arrived
                assert int(await traffic.rpc.call("eth_blockNumber"), 16) == head
                assert await traffic.rpc.call("eth_getTransactionReceipt", [sent]) is None
                [request] = receiver.requests
                assert verify(
                    SECRET,
                    request.body,
                    request.headers["X-TimeMachine-Signature"],
                    request.headers["X-TimeMachine-Timestamp"],
                    now=time.time(),
                )
                alert = request.json()["alert"]
                assert (alert["rule_id"], alert["stage"], alert["tx_hash"]) == (
                    "exploit-before-inclusion",
                    "pending",
                    sent,
                )
                assert alert["evidence"]["finding.severity"] in ("high", "critical")
                await wait_for(lambda: len(inbox.messages) >= 1, "the e-mail")
                [(mail_from, rcpt_tos, _content, tls)] = inbox.messages
                assert (mail_from, rcpt_tos, tls) == ("tm@example.org", ["ops@example.org"], True)

                block = await live.chain.mine()
                record = live.chain.monitor.lifecycle.get(sent)
                assert record is not None
                await wait_for(lambda: record.status == "included", "the exploit's inclusion")
                assert record.block_number == block == head + 1
                receipt = await traffic.rpc.call("eth_getTransactionReceipt", [sent])
                assert int(receipt["blockNumber"], 16) == block
                # the simulated and mined stages do not alert again: one alert per tx
                assert [a.tx_hash for a in feed.alerts] == [sent]
                assert len(receiver.requests) == 1
                assert len(inbox.messages) == 1
                with database.session() as s:
                    deliveries = AlertStore(s).deliveries(feed.alerts[0].id)
                assert {(d.channel, d.status) for d in deliveries} == {
                    ("ops-hook", "delivered"),
                    ("ops-mail", "delivered"),
                }
        finally:
            await bus.aclose()
            database.dispose()


async def test_monitor_cli_with_rules_delivers_before_inclusion(
    devnet: Devnet, tmp_path: Path
) -> None:
    before = scenario_of_class(devnet, "reentrancy")
    raw = await raw_transaction(devnet, before.exploit_tx)
    forks = ForkManager()
    live = await forks.acquire(
        ForkSpec(
            upstream_url=devnet.rpc_url,
            block_number=before.block_number - 1,
            extra_args=PAUSED_CHAIN_ARGS,
        )
    )
    with http_receiver() as receiver:
        rules = tmp_path / "rules.yaml"
        rules.write_text(rule_file(receiver.url))
        env = {
            **_env(tmp_path),
            "HOOK_SECRET": SECRET,
            "OUTBOUND_ALLOW_HOSTS": "127.0.0.1,localhost",
        }
        command = _command(
            "--rpc-url", live.url, "--simulate", "all", "--json", "--duration", "90",
            "--rules", str(rules),
        )  # fmt: skip
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            deadline = time.monotonic() + 90
            while _next_event(process, deadline)["topic"] != "blocks":
                pass
            async with RpcClient(live.url) as rpc:
                head = int(await rpc.call("eth_blockNumber"), 16)
                sent = await rpc.call("eth_sendRawTransaction", [raw])
                while (event := _next_event(process, deadline)).get("type") != "rule_alert":
                    pass
                assert (event["topic"], event["rule_id"], event["tx_hash"]) == (
                    "alerts",
                    "exploit-before-inclusion",
                    sent,
                )
                await wait_for(lambda: len(receiver.requests) >= 1, "the signed webhook")
                assert int(await rpc.call("eth_blockNumber"), 16) == head
                assert await rpc.call("eth_getTransactionReceipt", [sent]) is None
                [request] = receiver.requests
                signature = request.headers["X-TimeMachine-Signature"]
                stamp = request.headers["X-TimeMachine-Timestamp"]
                assert verify(SECRET, request.body, signature, stamp, now=time.time())
                assert request.json()["alert"]["id"] == event["id"]
                await rpc.call("evm_mine")
                receipt = await rpc.call("eth_getTransactionReceipt", [sent])
                assert int(receipt["blockNumber"], 16) == head + 1
        finally:
            process.terminate()
            process.wait(timeout=30)
            await forks.shutdown()
