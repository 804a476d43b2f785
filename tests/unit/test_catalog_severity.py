"""USD loss parsing (stated USD only, never token amounts) and the severity thresholds."""

from __future__ import annotations

import pytest

from timemachine.catalog.severity import Severity, parse_usd, severity_for_loss


@pytest.mark.parametrize(
    ("text", "usd"),
    [
        ("$900 million", 900_000_000.0),
        ("~$1.2M", 1_200_000.0),
        ("US$ 3,000", 3_000.0),
        ("$.2 million", 200_000.0),
        ("$1,509.78", 1_509.78),
        ("$59 K", 59_000.0),
        ("$~11M", 11_000_000.0),
        ("over $21 Million", 21_000_000.0),
        ("1,340,000 USD", 1_340_000.0),
        ("~$3.98M USD", 3_980_000.0),
        ("500,000+ USD", 500_000.0),
        (">10700USD(WINR token)", 10_700.0),
        ("11 Million $", 11_000_000.0),
        ("819 BNB (~224k$)", 224_000.0),
        ("704 ETH (~1.08M US$)", 1_080_000.0),
        ("153,037 ETH (~$30M)", 30_000_000.0),
        ("~$101K (82,315 USDC + 19,074 USDC.e)", 101_000.0),
        ("~605K USDT (single tx; ~$8.2M cumulative)", 8_200_000.0),
    ],
)
def test_stated_usd_amounts_are_parsed(text: str, usd: float) -> None:
    assert parse_usd(text) == usd


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "140M",
        "514k ETH",
        "155 $ETH",
        "~$2.3 ETH",
        "~$29BNB",
        "$2k $USDT",
        "~$ 827 USDC",
        "~$243,543 USDT",
        "149,616 $BUSD",
        "11k BSC-USD",
        "~309k USDs (Stablecoin)",
        "Rescued: ~2,909 ETH",
        "N/A (worst-case impact would have been ~$2M)",
        "Unclear",
    ],
)
def test_token_amounts_and_missing_figures_give_none(text: str | None) -> None:
    assert parse_usd(text) is None


@pytest.mark.parametrize(
    ("usd", "severity"),
    [
        (None, Severity.UNKNOWN),
        (0.0, Severity.LOW),
        (99_999.99, Severity.LOW),
        (100_000.0, Severity.MEDIUM),
        (999_999.0, Severity.MEDIUM),
        (1_000_000.0, Severity.HIGH),
        (9_999_999.0, Severity.HIGH),
        (10_000_000.0, Severity.CRITICAL),
        (900_000_000.0, Severity.CRITICAL),
    ],
)
def test_severity_thresholds(usd: float | None, severity: Severity) -> None:
    assert severity_for_loss(usd) is severity
