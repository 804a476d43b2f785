"""Run comparison (pure functions over the models) and the what-if CLI's option parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from timemachine.analysis.compare import (
    SWAP_TOPIC,
    TRANSFER_TOPIC,
    Run,
    TokenMeta,
    compare_balances,
    compare_logs,
    compare_runs,
    execution_price,
    swaps_in,
)
from timemachine.cli.whatif import build_whatif
from timemachine.errors import InvalidInputError
from timemachine.models.trace import BalanceChange, LogEntry
from timemachine.models.whatif import CallSpec, CodePatch, WhatIf

PAIR = "0x" + "aa" * 20
TOKEN_A = "0x" + "0a" * 20  # sold, 18 decimals
TOKEN_B = "0x" + "0b" * 20  # bought, 6 decimals
ALICE = "0x" + "a1" * 20


def topic(address: str) -> str:
    return "0x" + "00" * 12 + address[2:]


def word(value: int) -> str:
    return f"{value:064x}"


def transfer(token: str, source: str, target: str, amount: int) -> LogEntry:
    return LogEntry(
        address=token,
        topics=[TRANSFER_TOPIC, topic(source), topic(target)],
        data="0x" + word(amount),
    )


def swap(amount_in: int, amount_out: int) -> list[LogEntry]:
    """A V2 swap selling `amount_in` of A (token0) for `amount_out` of B (token1), with its
    transfers."""
    return [
        transfer(TOKEN_A, ALICE, PAIR, amount_in),
        transfer(TOKEN_B, PAIR, ALICE, amount_out),
        LogEntry(
            address=PAIR,
            topics=[SWAP_TOPIC, topic(ALICE), topic(ALICE)],
            data="0x" + word(amount_in) + word(0) + word(0) + word(amount_out),
        ),
    ]


TOKENS = {TOKEN_A: TokenMeta("A", 18), TOKEN_B: TokenMeta("B", 6)}


def run(label: str, logs: list[LogEntry], status: int = 1, gas: int = 100_000) -> Run:
    return Run(
        label=label, status=status, gas_used=gas, revert_reason=None, logs=logs, tokens=TOKENS
    )


def test_swaps_are_read_from_swap_and_transfer_logs() -> None:
    (found,) = swaps_in(swap(2 * 10**18, 5_000 * 10**6))
    assert (found.pair, found.token_in, found.token_out) == (PAIR, TOKEN_A, TOKEN_B)
    assert (found.amount_in, found.amount_out) == (2 * 10**18, 5_000 * 10**6)


def test_execution_price_applies_decimals() -> None:
    assert execution_price(2 * 10**18, 5_000 * 10**6, 18, 6) == 2_500.0
    assert execution_price(2, 5, None, 6) == 2.5  # unknown decimals: base units
    assert execution_price(0, 5, 18, 6) == 0.0


def test_swap_price_difference_and_pnl() -> None:
    comparison = compare_runs(
        run("original", swap(2 * 10**18, 5_000 * 10**6)),
        run("what-if", swap(2 * 10**18, 4_500 * 10**6)),
    )
    (diff,) = comparison.swaps
    assert diff.left is not None
    assert diff.right is not None
    assert (diff.left.price, diff.right.price) == (2_500.0, 2_250.0)
    assert diff.price_diff_pct == pytest.approx(-10.0)
    assert diff.amount_out_diff == -500 * 10**6
    assert diff.amount_in_diff == 0
    assert (diff.symbol_in, diff.symbol_out) == ("A", "B")
    assert [log.fields for log in comparison.logs] == [["data"], ["data"]]


def test_a_swap_missing_on_one_side_has_no_price_difference() -> None:
    comparison = compare_runs(run("replay", swap(10, 20)), run("what-if", [], status=0))
    (diff,) = comparison.swaps
    assert diff.right is None
    assert diff.price_diff_pct is None
    assert comparison.status.changed
    assert [log.change for log in comparison.logs] == ["removed"] * 3


def test_logs_are_aligned_so_one_inserted_log_is_one_addition() -> None:
    base = [transfer(TOKEN_A, ALICE, PAIR, n) for n in (1, 2, 3)]
    extra = transfer(TOKEN_B, ALICE, PAIR, 9)
    diffs = compare_logs(base, [base[0], extra, base[1], base[2]])
    assert [(d.change, d.left_index, d.right_index) for d in diffs] == [("added", None, 1)]
    assert compare_logs(base, base) == []


def test_balances_show_both_deltas_and_the_difference() -> None:
    left = [BalanceChange(address=ALICE, asset="ETH", delta=-5)]
    right = [
        BalanceChange(address=ALICE, asset="ETH", delta=-3),
        BalanceChange(address=ALICE, asset=TOKEN_B, symbol="B", decimals=6, delta=7),
    ]
    rows = {
        (row.asset, row.left, row.right, row.difference) for row in compare_balances(left, right)
    }
    assert rows == {("ETH", -5, -3, 2), (TOKEN_B, 0, 7, 7)}


def test_identical_runs_compare_identical() -> None:
    comparison = compare_runs(run("original", swap(10, 20)), run("replay", swap(10, 20)))
    assert comparison.identical
    assert comparison.balances is None  # runs without balance changes (receipts)


# ----------------------------------------------------------------- CLI option parsing


def test_build_whatif_from_cli_options(tmp_path: Path) -> None:
    source = tmp_path / "Fixed.sol"
    source.write_text("pragma solidity ^0.8.20; contract Fixed {}")
    request = build_whatif(
        patch=[f"{ALICE}={source}:Fixed"],
        patch_args=[f"{ALICE}=@asset,42"],
        patch_code=[f"{PAIR}=0x6000"],
        storage=[f"{PAIR}:0x1=0x2", f"{PAIR}:3=4"],
        balance=[f"{PAIR}=1000"],
        sender=ALICE,
        at_block=12,
        before=["0x" + "11" * 32, f"{ALICE}:{PAIR}:0xabcd:5"],
        drop=["0x" + "22" * 32],
        quick=True,
    )
    assert request.patches == [
        CodePatch(
            address=ALICE, source=str(source), contract="Fixed", constructor_args=["@asset", "42"]
        ),
        CodePatch(address=PAIR, code="0x6000"),
    ]
    (override,) = request.overrides
    assert override.storage == {"0x1": "0x2", "3": "4"}
    assert override.balance == 1000
    assert request.before[0] == "0x" + "11" * 32
    assert request.before[1] == CallSpec.model_validate(
        {"from": ALICE, "to": PAIR, "data": "0xabcd", "value": 5}
    )
    assert (request.sender, request.at_block, request.mode) == (ALICE, 12, "quick")
    assert not request.empty
    assert len(request.describe()) == 8
    assert WhatIf().empty


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"storage": ["nope"]}, "ADDR:SLOT=VALUE"),
        ({"balance": [f"{ALICE}=lots"]}, "not a number"),
        ({"patch": [f"{ALICE}=/no/such/file.sol"]}, "no file"),
        ({"patch_args": [f"{ALICE}=1"]}, "no --patch patches"),
        ({"before": ["a:b"]}, "FROM:TO:DATA"),
    ],
)
def test_bad_cli_options_are_one_line_errors(options: dict[str, list[str]], words: str) -> None:
    with pytest.raises(InvalidInputError, match=words):
        build_whatif(**options)  # type: ignore[arg-type]


def test_a_patch_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        CodePatch(address=ALICE)
    with pytest.raises(ValueError, match="exactly one"):
        CodePatch(address=ALICE, code="0x00", artifact="EtherBankFixed")
