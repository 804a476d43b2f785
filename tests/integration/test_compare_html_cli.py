"""`timemachine compare --format html` on the devnet: the charts match the comparison."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from timemachine.devnet import Devnet
from timemachine.machine import TimeMachine
from timemachine.models.whatif import WhatIf

from .test_cli import timemachine
from .test_verify_fix import carol_swap

pytestmark = pytest.mark.integration


async def test_time_shifted_swap_comparison_chart(
    machine: TimeMachine, devnet: Devnet, tmp_path: Path
) -> None:
    swap = await carol_swap(machine, devnet)
    block = swap.block - 1
    comparison = await machine.compare(swap.tx, WhatIf(at_block=block))
    assert comparison.balances
    path = tmp_path / "compare.html"
    run = timemachine(
        "compare", swap.tx, "-r", devnet.rpc_url, "--at-block", str(block),
        "--format", "html", "-o", str(path),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"wrote {path}"
    document = path.read_text()
    assert "<script" not in document.lower()
    assert "http://" not in document.lower()
    root = ET.fromstring(document.split("\n", 1)[1])
    svgs = {svg.attrib["data-chart"]: svg for svg in root.iter("svg")}
    for kind, count in (("balances", len(comparison.balances)), ("prices", 2)):
        classes = [rect.attrib["class"] for rect in svgs[kind].iter("rect")]
        assert classes.count("bar left") == classes.count("bar right") == count, kind
    hops = [t.text for t in svgs["prices"].iter("text") if t.attrib["class"] == "label"]
    assert [hop.split(" ")[-1] for hop in hops if hop] == ["DEMO→WETH", "WETH→USDX"]
    prices = [t.text for t in svgs["prices"].iter("text") if t.attrib["class"] == "value left"]
    assert prices == [f"{hop.left.price:.8g}" for hop in comparison.swaps if hop.left]
    both = timemachine("compare", swap.tx, "-r", devnet.rpc_url, "--json", "--format", "html")
    assert both.returncode == 2
    assert "disagree" in both.stderr
