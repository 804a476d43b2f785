"""Output a researcher reads at a glance, on the devnet: names and symbols everywhere (every
bundled scenario), piped output whole, and each rough edge a one-line error or a visible step."""

from __future__ import annotations

import io
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from eth_account import Account

from tests.conftest import REPO
from timemachine.analysis import analyze
from timemachine.analysis.report import render_markdown
from timemachine.analysis.report_html import render_html
from timemachine.cli.output import console_of_width
from timemachine.cli.terminal import UNBOUNDED
from timemachine.cli.whatif import print_comparison
from timemachine.devnet import Devnet, manifest
from timemachine.machine import TimeMachine
from timemachine.models.whatif import WhatIf

from .test_cli import assert_one_line_error, timemachine
from .test_verify_fix import fix_patch

pytestmark = pytest.mark.integration

BASE_UNITS = re.compile(r"base units of token (0x[0-9a-fA-F]{40})")
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


async def test_no_base_units_where_a_symbol_is_known_in_any_bundled_scenario(
    machine: TimeMachine, devnet: Devnet
) -> None:
    labels = devnet.history.labels
    checked = 0
    for record in devnet.history.scenarios:
        result = await machine.replay(record.exploit_tx)
        report = analyze(result, labels)
        symbols = {address for address, token in report.names.tokens.items() if token.symbol}
        texts = [
            *(f.title + f.explanation + " ".join(f.evidence.signals) for f in report.findings),
            render_markdown(report),
            render_html(report, result),
        ]
        for text in texts:
            named = [t for t in BASE_UNITS.findall(text) if t.lower() in symbols]
            assert named == [], f"{record.id}: base units of {named}"
        checked += len(report.findings)
    assert checked >= 20  # every exploit has at least a finding and its value extraction


async def test_findings_and_reports_name_tokens_and_contracts(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario("oracle-manipulation-lending")
    result = await machine.replay(record.exploit_tx)
    report = analyze(result, devnet.history.labels)
    top = report.findings[0]
    assert "paid out 35,000 USDX at that price" in top.explanation
    assert "lost 35,000 USDX over the transaction" in top.explanation
    flash = next(f for f in report.findings if f.detector == "flash_loan")
    assert "borrowed 1,000,000 USDX (returned 1,000,900 USDX, fee 900 USDX)" in flash.explanation
    markdown = render_markdown(report)
    market = devnet.history.address_of("SpotLendingMarket")
    assert f"SpotLendingMarket ({market.lower()}) paid out 35,000 USDX" in markdown


async def test_compare_with_a_patch_names_events_and_tokens(
    machine: TimeMachine, devnet: Devnet
) -> None:
    record = devnet.history.scenario("oracle-manipulation-lending")
    patch = fix_patch(devnet, "oracle-manipulation-lending")
    comparison = await machine.compare(record.exploit_tx, WhatIf(patches=[patch]))
    assert comparison.logs
    assert all(log.event for log in comparison.logs)  # no `event ?`
    buffer = io.StringIO()
    print_comparison(comparison, console_of_width(UNBOUNDED, file=buffer))
    text = buffer.getvalue()
    assert "USDX" in text
    assert "base units" not in text
    assert "│ ? " not in text


def test_analyze_takes_labels_from_the_devnet_manifest(devnet: Devnet, tmp_path: Path) -> None:
    path = tmp_path / "devnet.json"
    path.write_text(json.dumps(manifest(devnet)))
    record = devnet.history.scenario("reentrancy-bank")
    run = timemachine("analyze", record.exploit_tx, "-r", devnet.rpc_url, "--labels", str(path))
    assert run.returncode == 0, run.stderr
    bank = devnet.history.address_of("EtherBank").lower()
    assert f"# Analysis of {record.exploit_tx}" in run.stdout
    assert f"Single-function reentrancy into EtherBank ({bank})" in run.stdout
    assert "- Attacker-controlled: mallory (" in run.stdout


async def test_piped_replay_is_never_wrapped_and_sequences_are_not_quick(
    machine: TimeMachine, devnet: Devnet
) -> None:
    first = devnet.history.scenario("reentrancy-bank")
    trace = (await machine.replay(first.exploit_tx)).trace
    frames = sum(1 for _ in trace.walk())
    logs = len(trace.all_logs())
    second = devnet.history.scenario("amm-swaps")
    run = timemachine("replay", first.exploit_tx, second.exploit_tx, "-r", devnet.rpc_url)
    assert run.returncode == 0, run.stderr
    assert "quick mode" not in run.stdout
    assert "sequence (transaction 2 of the sequence, on one fork)" in run.stdout
    tree = run.stdout.split("Traces:\n", 1)[1].split("\nTransaction ", 1)[0].splitlines()
    # each frame, its return line and each (decoded) log on one line, as cast prints them
    assert (frames, len(tree)) == (105, 2 * frames + logs)
    assert all(line.startswith("  ") for line in tree)
    assert max(len(line) for line in tree) > 200  # long lines stay long


def test_compare_trace_says_what_it_compared(devnet: Devnet) -> None:
    record = devnet.history.scenario("reentrancy-bank")
    run = timemachine("replay", record.exploit_tx, "-r", devnet.rpc_url, "--compare-trace")
    assert run.returncode == 0, run.stderr
    assert (
        "Trace comparison: all 105 call frames identical to the upstream's own trace "
        "(type, addresses, value, gas, input, output, error)"
    ) in run.stdout


async def test_a_raw_tx_whose_nonce_does_not_fit_names_the_expected_nonce(
    machine: TimeMachine, devnet: Devnet
) -> None:
    sender = Account.from_key(ANVIL_KEY)
    block = 5
    expected = int(
        await machine.upstream.call("eth_getTransactionCount", [sender.address, hex(block)]), 16
    )
    signed = sender.sign_transaction(
        {
            "to": "0x0000000000000000000000000000000000000001",
            "value": 0,
            "gas": 21_000,
            "gasPrice": 10**10,
            "nonce": expected + 100,
            "chainId": 31337,
        }
    )
    raw = "0x" + bytes(signed.raw_transaction).hex()
    run = timemachine("replay", raw, "-r", devnet.rpc_url, "--block", str(block))
    assert_one_line_error(run, 6)
    assert run.stderr.strip() == (
        f"error: the raw transaction's nonce {expected + 100} does not fit on block {block}: "
        f"{sender.address}'s next nonce there is {expected} (replay it on a block after which "
        f"the sender's next nonce is {expected + 100})"
    )


@pytest.fixture
def garbage_rpc() -> Iterator[str]:
    """A server answering every JSON-RPC call with `{"result": "0xzz"}`."""

    class Garbage(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            calls = body if isinstance(body, list) else [body]
            answers = [{"jsonrpc": "2.0", "id": call["id"], "result": "0xzz"} for call in calls]
            data = json.dumps(answers if isinstance(body, list) else answers[0]).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_rpc_answering_garbage_is_one_line(garbage_rpc: str) -> None:
    for command in ("replay", "analyze"):
        run = timemachine(command, "0x" + "ab" * 32, "-r", garbage_rpc)
        assert_one_line_error(run, 4)
        assert run.stderr.strip() == (
            f"error: {garbage_rpc} answered eth_getTransactionByHash with '0xzz', not an object; "
            "is it a JSON-RPC node of an EVM chain?"
        )


def test_batch_replay_of_only_failures_exits_6_with_one_line_per_reason(
    devnet: Devnet, tmp_path: Path
) -> None:
    path = tmp_path / "unknown.csv"
    path.write_text("hash,chain\n" + "".join(f"0x{n:064x},devnet\n" for n in range(1, 6)))
    run = timemachine("batch-replay", str(path), "-r", devnet.rpc_url)
    assert run.returncode == 6, run.stderr
    assert run.stderr.startswith("error: every one of the 5 transactions failed to replay;")
    assert f"    5 × transaction <tx> is unknown to {devnet.rpc_url}" in run.stdout  # grouped
    assert f"0x{1:064x}, 0x{2:064x}, 0x{3:064x} and 2 more" in run.stdout


def test_whatif_with_a_patch_shows_progress(devnet: Devnet) -> None:
    record = devnet.history.scenario("reentrancy-bank")
    bank = devnet.history.address_of("EtherBank")
    run = timemachine(
        "whatif", record.exploit_tx, "-r", devnet.rpc_url, "--patch-code", f"{bank}=0x00",
        "--depth", "0",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    progress = run.stderr.splitlines()
    assert progress[0] == f"what-if of {record.exploit_tx} with 1 patch(es)…"
    assert re.fullmatch(r".*: done in \d+\.\d s", progress[-1])


def test_a_taken_devnet_port_exits_5_as_the_readme_says() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = timemachine("devnet", "--port", str(port))
    assert_one_line_error(run, 5, f"port {port}", "already in use")
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "5 engine (anvil) problem (e.g. the devnet's or a fork's port taken)" in readme
