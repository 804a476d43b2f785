"""The self-contained HTML report on a hand-built re-entrancy drain."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import ClassVar

from tests.unit.analysis_trees import ATTACKER, EOA, VICTIM, call
from tests.unit.test_analysis_report import drain
from timemachine.analysis import analyze
from timemachine.analysis.report_html import render_html
from timemachine.models import DecodedArg, DecodedEvent, LogEntry, ReplayResult
from timemachine.models.analysis import AnalysisReport

HOSTILE_REASON = "<script>alert(1)</script>"
HOSTILE_EVENT = '"><img src=x onerror=alert(2)>&'


def hostile() -> ReplayResult:
    """The drain, plus a reverted call with a hostile reason and an event with a hostile string."""
    base = drain()
    failed = call(EOA, VICTIM, "0xdeadbeef")
    failed.error = "execution reverted"
    failed.revert_reason = HOSTILE_REASON
    event = DecodedEvent(
        signature="Note(string)",
        name="Note",
        args=[DecodedArg(name="text", type="string", value=HOSTILE_EVENT)],
    )
    trace = base.trace.model_copy(deep=True)
    trace.calls.append(failed)
    trace.logs.append(LogEntry(address=ATTACKER, topics=["0x" + "11" * 32], data="0x", event=event))
    return base.model_copy(update={"trace": trace})


def rendered() -> tuple[AnalysisReport, str]:
    replay = hostile()
    report = analyze(replay)
    return report, render_html(report, replay)


def test_the_document_is_well_formed_xhtml() -> None:
    _, document = rendered()
    assert document.startswith("<!DOCTYPE html>")
    root = ET.fromstring(document.split("\n", 1)[1])
    assert root.tag == "html"
    assert root.find("head/title") is not None
    assert root.find("head/style") is not None

    class Balance(HTMLParser):
        void: ClassVar[set[str]] = {"meta", "br", "hr", "img", "input", "link"}

        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []

        def handle_starttag(self, tag: str, attrs: object) -> None:
            if tag not in self.void:
                self.stack.append(tag)

        def handle_startendtag(self, tag: str, attrs: object) -> None:
            pass  # <meta/>, <path/>: opened and closed at once

        def handle_endtag(self, tag: str) -> None:
            assert self.stack.pop() == tag

    parser = Balance()
    parser.feed(document)
    parser.close()
    assert parser.stack == []


def test_header_and_findings_are_shown() -> None:
    report, document = rendered()
    assert report.findings
    top = report.findings[0]
    assert top.vulnerability_class.value == "reentrancy"
    for text in (report.tx_hash, "devnet (31337)", ">10<", "unverified", "Gas used"):
        assert text in document
    for finding in report.findings:
        assert finding.title.replace("'", "&#x27;").replace('"', "&quot;") in document
        assert finding.vulnerability_class.value in document
        assert f"severity: {finding.severity}" in document
        assert f"confidence: {finding.confidence:.2f}" in document
    assert "Recommendation." in document
    assert "Evidence" in document


def _tree_text(root: ET.Element) -> list[str]:
    """Every line of the HTML call tree (frames, logs, returns) as text."""
    tree = root.find(".//ul[@class='tree']")
    assert tree is not None
    lines = []
    for element in tree.iter():
        if element.tag == "summary" or (
            element.tag == "li" and element.get("class", "").startswith(("log", "ret"))
        ):
            lines.append("".join(element.itertext()))
    return lines


def test_profit_balances_and_call_tree_sections() -> None:
    report, document = rendered()
    for title in ("Profit and loss", "Attacker gains", "Victim losses", "Balance changes"):
        assert f">{title}<" in document
    for title in ("Call tree", "Storage changes", "Gas profile", "Fund flow"):
        assert f">{title}<" in document
    assert report.profit.attackers
    assert VICTIM in document
    root = ET.fromstring(document.split("\n", 1)[1])
    lines = _tree_text(root)
    frames = sum(1 for _ in hostile().trace.walk())
    assert len([line for line in lines if line.startswith("[")]) == frames  # `[gas] Name::fn`
    assert len(root.findall(".//summary[@title]")) == frames  # the frame's path on hover
    assert any("withdraw()" in line for line in lines)
    assert any(line.startswith("← [Revert]") for line in lines)
    # every frame open (printable without script), each with its path as an anchor
    assert len(root.findall(".//details[@open]")) == frames
    assert root.find(".//li[@id='frame-calls-1-calls-0']") is not None


def test_fund_flow_steps_are_numbered_in_execution_order() -> None:
    report, document = rendered()
    root = ET.fromstring(document.split("\n", 1)[1])
    svgs = root.findall(".//svg")
    assert len(svgs) == 1
    svg = svgs[0]
    steps = [g for g in svg.iter("g") if "step" in (g.get("class") or "").split()]
    transfers = hostile().token_transfers
    assert [g.findtext("text") for g in steps] == [
        f"{n}. {t.amount // 10**18} ETH" for n, t in enumerate(transfers, 1)
    ]
    rows = [int(float(g.find("text").get("y", "0"))) for g in steps]  # type: ignore[union-attr]
    assert rows == sorted(set(rows))  # one row per step: no label sits on another
    heads = [g for g in svg.iter("g") if "head" in (g.get("class") or "").split()]
    shown = [f"{a[:6]}…{a[-4:]}" for a in (EOA, ATTACKER, VICTIM)]
    assert [g.findtext("text") for g in heads] == shown
    assert "attacker" in {(g.get("class") or "").split()[-1] for g in heads}
    section = document.split('id="flow"', 1)[1].split("</section>", 1)[0]
    assert section.count("<tr>") == len(report.fund_flow.edges) + 1


def test_layout_is_deterministic() -> None:
    assert rendered()[1] == rendered()[1]


def test_self_contained_and_hostile_strings_are_escaped() -> None:
    _, document = rendered()
    lowered = document.lower()
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert lowered.count("<script") == 1  # the view's own (search, expand/collapse), at the end
    assert lowered.index("<script") > lowered.index("</footer>")
    assert "<img" not in lowered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "&lt;img src=x onerror=alert(2)&gt;&amp;" in document
    root = ET.fromstring(document.split("\n", 1)[1])
    lines = _tree_text(root)
    assert f"← [Revert] {HOSTILE_REASON}" in lines  # shown as text
    assert any(HOSTILE_EVENT in line for line in lines)


def test_control_characters_in_chain_strings_keep_it_parseable() -> None:
    replay = hostile()
    replay.trace.calls[-1].revert_reason = "bad\x00reason\x1b"
    document = render_html(analyze(replay), replay)
    ET.fromstring(document.split("\n", 1)[1])
    assert "bad\ufffdreason" in document
