"""The comparison report: inline-SVG bar charts of balance deltas and swap prices, offline."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from timemachine.analysis.report_html import render_comparison_html
from timemachine.models.compare import BalanceDiff, Comparison, SwapDiff, SwapLeg, ValueDiff

ALICE = "0x" + "a1" * 20
MALLORY = "0x" + "be" * 20
TOKEN = "0x" + "70" * 20
USDX = "0x" + "75" * 20
PAIR_1 = "0x" + "11" * 20
PAIR_2 = "0x" + "22" * 20
HOSTILE = '<script>alert("x")</script>\x07&'
TX = "0x" + "ab" * 32


def comparison() -> Comparison:
    return Comparison(
        left="replay",
        right="what-if",
        status=ValueDiff(left=1, right=0, changed=True),
        gas_used=ValueDiff(left=120_000, right=40_000, changed=True),
        gas_difference=-80_000,
        revert_reason=ValueDiff(left=None, right=HOSTILE, changed=True),
        balances=[
            BalanceDiff(
                address=MALLORY, asset="ETH", symbol="ETH", decimals=18,
                left=5 * 10**18, right=-10**16, difference=-5 * 10**18 - 10**16,
            ),
            BalanceDiff(
                address=ALICE, asset=TOKEN, symbol=HOSTILE, decimals=None,
                left=-300, right=0, difference=300,
            ),
            BalanceDiff(
                address=ALICE, asset=USDX, symbol="USDX", decimals=6,
                left=1_500_000, right=1_000_000, difference=-500_000,
            ),
        ],
        swaps=[
            SwapDiff(
                pair=PAIR_1, token_in=TOKEN, token_out=USDX, symbol_in="DEMO", symbol_out="USDX",
                left=SwapLeg(log_index=3, amount_in=10, amount_out=20, price=2.0),
                right=SwapLeg(log_index=3, amount_in=10, amount_out=15, price=1.5),
                price_diff_pct=-25.0, amount_in_diff=0, amount_out_diff=-5,
            ),
            SwapDiff(
                pair=PAIR_2, token_in=USDX, token_out=TOKEN, symbol_in="USDX", symbol_out=HOSTILE,
                left=SwapLeg(log_index=5, amount_in=20, amount_out=4, price=0.2),
                right=None,
            ),
        ],
    )  # fmt: skip


def charts(document: str) -> dict[str, ET.Element]:
    root = ET.fromstring(document.split("\n", 1)[1])  # after the doctype: well-formed XHTML
    return {svg.attrib["data-chart"]: svg for svg in root.iter("svg")}


def bars(svg: ET.Element, side: str) -> list[float]:
    return [
        float(rect.attrib["width"])
        for rect in svg.iter("rect")
        if rect.attrib["class"] == f"bar {side}"
    ]


def labels(svg: ET.Element) -> list[str]:
    return [text.text or "" for text in svg.iter("text") if text.attrib["class"] == "label"]


def test_balance_chart_has_two_bars_per_address_and_asset() -> None:
    svg = charts(render_comparison_html(comparison(), TX))["balances"]
    assert labels(svg) == [
        "0xbebe…bebe ETH",
        f"0xa1a1…a1a1 {HOSTILE.replace(chr(7), '�')}",
        "0xa1a1…a1a1 USDX",
    ]
    left, right = bars(svg, "left"), bars(svg, "right")
    assert len(left) == len(right) == 3
    plot = 760 - 250 - 170
    # Each row scaled on its own: the larger magnitude of the row spans half the plot.
    assert left[0] == plot / 2
    assert right[0] == round(plot / 2 * 10**16 / (5 * 10**18), 1)
    assert (left[1], right[1]) == (plot / 2, 0.0)
    assert (left[2], right[2]) == (plot / 2, round(plot / 2 * 2 / 3, 1))
    # A loss is drawn left of the axis, a gain right of it.
    rects = [r for r in svg.iter("rect") if r.attrib["class"].startswith("bar")]
    axis = 250 + plot / 2
    assert float(rects[0].attrib["x"]) == axis  # mallory's +5 ETH
    assert float(rects[1].attrib["x"]) < axis  # the gas fee lost in the what-if
    values = [t.text for t in svg.iter("text") if t.attrib["class"].startswith("value")]
    assert values[:2] == ["5", "-0.01"]
    assert values[4:] == ["1.5", "1"]


def test_price_chart_has_one_pair_of_bars_per_hop() -> None:
    svg = charts(render_comparison_html(comparison(), TX))["prices"]
    assert labels(svg) == [
        "#1 0x1111…1111 DEMO→USDX",
        f"#2 0x2222…2222 USDX→{HOSTILE.replace(chr(7), '�')}",
    ]
    plot = 760 - 250 - 170
    assert bars(svg, "left") == [plot, plot]
    assert bars(svg, "right") == [plot * 0.75, 0.0]  # hop 2 did not happen in the what-if
    values = [t.text for t in svg.iter("text") if t.attrib["class"].startswith("value")]
    assert values == ["2", "1.5", "0.2", "no swap"]


def test_hostile_labels_are_escaped_and_the_page_is_self_contained() -> None:
    document = render_comparison_html(comparison(), TX)
    lowered = document.lower()
    assert "<script" not in lowered
    assert "http://" not in lowered
    assert "https://" not in lowered
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in document
    assert "\x07" not in document
    assert " href=" not in lowered
    assert " src=" not in lowered


def test_a_receipt_comparison_has_no_balance_bars() -> None:
    plain = comparison().model_copy(update={"balances": None, "swaps": [], "left": "original"})
    document = render_comparison_html(plain, TX)
    assert charts(document) == {}
    assert "a receipt, which records none" in document
    assert "No Uniswap V2 swap in either run." in document
