"""Trace-only analysis: call traces alone (geth callTracer or Parity trace_block), no logs or
state, screened with the reduced signal set, from the library and from `analyze --traces`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from timemachine.analysis.trace_only import SIGNALS, screen
from timemachine.cli.main import app
from timemachine.mev.sources import block_from_calltracer, block_from_json
from timemachine.trace.flat import flat_trace

EOA = "0x00000000000000000000000000000000000000e0"
ATTACKER = "0x00000000000000000000000000000000000000a7"
BANK = "0x00000000000000000000000000000000000000b1"
ROUTER = "0x00000000000000000000000000000000000000c2"
POOL = "0x00000000000000000000000000000000000000d1"
WITHDRAW = "0x2e1a7d4d" + "0" * 64
DRAIN_TX = "0x" + "aa" * 32
SWAP_TX = "0x" + "bb" * 32


def frame(source: str, target: str, data: str = "0x", value: int = 0, *calls: Any) -> Any:
    return {
        "type": "CALL",
        "from": source,
        "to": target,
        "value": hex(value),
        "gas": "0x0",
        "gasUsed": "0x0",
        "input": data,
        "calls": list(calls),
    }


def drain() -> Any:
    """ATTACKER withdraws from BANK and re-enters withdraw from its receive hook, twice."""
    inner = frame(ATTACKER, BANK, WITHDRAW, 0, frame(BANK, ATTACKER, "0x", 10**18))
    outer = frame(ATTACKER, BANK, WITHDRAW, 0, frame(BANK, ATTACKER, "0x", 10**18, inner))
    return frame(EOA, ATTACKER, "0x9e5faafc", 0, outer)


def swap() -> Any:
    """A router swap whose pool calls the router's swap callback back (invited, no re-entry)."""
    callback = frame(POOL, ROUTER, "0xfa461e33", 0, frame(ROUTER, POOL, "0x", 10**18))
    return frame(EOA, ROUTER, "0x414bf389", 10**18, frame(ROUTER, POOL, "0x128acb08", 0, callback))


def geth_results() -> list[dict[str, Any]]:
    return [{"txHash": DRAIN_TX, "result": drain()}, {"txHash": SWAP_TX, "result": swap()}]


def parity_document() -> dict[str, Any]:
    traces = []
    for position, item in enumerate(geth_results()):
        for trace in flat_trace(item["result"], "cancun", convert_parity_errors=True):
            trace |= {"transactionHash": item["txHash"], "transactionPosition": position}
            traces.append(trace)
    return {"block_number": 7, "traces": traces}


def test_geth_call_traces_alone_show_the_drain_and_leave_the_swap_quiet() -> None:
    block = block_from_calltracer(geth_results(), block_number=7)
    drained, swapped = screen(block.traces, block_number=7)
    assert (drained.tx_hash, swapped.tx_hash) == (DRAIN_TX, SWAP_TX)
    [finding] = drained.findings
    assert (finding.detector, finding.severity, finding.evidence.form) == (
        "reentrancy",
        "high",
        "single_function",
    )
    assert finding.evidence.frames == ["calls[0]", "calls[0].calls[0].calls[0]"]
    assert swapped.findings == []


def test_parity_trace_block_gives_the_same_findings() -> None:
    from_geth = screen(block_from_calltracer(geth_results(), block_number=7).traces)
    from_parity = screen(block_from_json(parity_document()).traces)
    assert from_parity == from_geth


def test_analyze_traces_cli_names_its_signals(tmp_path: Path) -> None:
    path = tmp_path / "block.json"
    path.write_text(json.dumps(parity_document()))
    run = CliRunner().invoke(app, ["analyze", "--traces", str(path), "--format", "json"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    assert sorted(report["signals"]) == sorted(SIGNALS) == ["arbitrary_call", "reentrancy"]
    assert report["transactions"] == 2
    assert [(f["tx_hash"], f["detector"], f["severity"]) for f in report["findings"]] == [
        (DRAIN_TX, "reentrancy", "high")
    ]
    geth = tmp_path / "geth.json"
    geth.write_text(json.dumps(geth_results()))
    run = CliRunner().invoke(app, ["analyze", "--traces", str(geth), SWAP_TX])
    assert run.exit_code == 0, run.output
    assert "1 transactions screened; 0 findings above low." in run.stdout


def test_analyze_traces_cli_bad_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"traces": [')
    run = CliRunner().invoke(app, ["analyze", "--traces", str(path)])
    assert run.exit_code == 2
    assert run.stderr.count("\n") == 1
    assert "not valid JSON" in run.stderr
