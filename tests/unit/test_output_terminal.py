"""Terminal output: the replay report (tree, balance table) at 80 and 120 columns and piped, names
from the naming service, tables that switch to a vertical layout when they cannot fit.

Golden files live in tests/unit/golden/; `UPDATE_GOLDEN=1` rewrites them (review the diff)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from rich.table import Table

from tests.unit.analysis_trees import result
from timemachine.cli.output import console_of_width, fit, print_replay
from timemachine.cli.terminal import UNBOUNDED
from timemachine.models import (
    BalanceChange,
    CallFrame,
    Fidelity,
    LogEntry,
    ReceiptSummary,
    TokenTransfer,
)
from timemachine.models.replay import ReplayResult
from timemachine.models.trace import DecodedArg, DecodedCall, DecodedEvent

GOLDEN = Path(__file__).parent / "golden"
TRADER = "0x1f2F10D1C40777AE1Da742455c65828FF36Df387"
ROUTER = "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"  # bundled: UniswapV2Router02
PAIR = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"  # bundled: USDC, 6 decimals
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"  # bundled: WETH, 18 decimals
SOLD = 35_000 * 10**6
BOUGHT = 11_234_567_890_123_456_789


def _arg(name: str, type_: str, value: object) -> DecodedArg:
    return DecodedArg(name=name, type=type_, value=value)


def _transfer(token: str, source: str, target: str, amount: int, index: int) -> LogEntry:
    args = [_arg("from", "address", source), _arg("to", "address", target)]
    return LogEntry(
        address=token,
        topics=[],
        data="0x",
        index=index,
        event=DecodedEvent(
            signature="Transfer(address,address,uint256)",
            name="Transfer",
            args=[*args, _arg("value", "uint256", amount)],
        ),
    )


def _frame(
    source: str, target: str, name: str, args: list[DecodedArg], **extra: object
) -> CallFrame:
    types = ",".join(arg.type for arg in args)
    return CallFrame.model_validate(
        {
            "type": extra.pop("kind", "CALL"),
            "from": source,
            "to": target,
            "value": 0,
            "input": "0x12345678",
            "gas_used": extra.pop("gas_used", 30_000),
            "decoded": DecodedCall(signature=f"{name}({types})", name=name, args=args),
            **extra,
        }
    )


def swap() -> ReplayResult:
    """A mainnet-shaped swap: 35,000 USDC for WETH through the Uniswap V2 router."""
    pull = _frame(
        ROUTER,
        USDC,
        "transferFrom",
        [_arg("", "address", TRADER), _arg("", "address", PAIR), _arg("", "uint256", SOLD)],
        logs=[_transfer(USDC, TRADER, PAIR, SOLD, 0)],
    )
    pay = _frame(
        PAIR,
        WETH,
        "transfer",
        [_arg("", "address", TRADER), _arg("", "uint256", BOUGHT)],
        logs=[_transfer(WETH, PAIR, TRADER, BOUGHT, 1)],
    )
    pair = _frame(
        ROUTER,
        PAIR,
        "swap",
        [
            _arg("", "uint256", 0),
            _arg("", "uint256", BOUGHT),
            _arg("", "address", TRADER),
            _arg("", "bytes", "0x"),
        ],
        calls=[pay],
        gas_used=60_000,
    )
    root = _frame(
        TRADER,
        ROUTER,
        "swapExactTokensForTokens",
        [
            _arg("", "uint256", SOLD),
            _arg("", "uint256", BOUGHT),
            _arg("", "address[]", [USDC, WETH]),
            _arg("", "address", TRADER),
            _arg("", "uint256", 1_700_000_000),
        ],
        calls=[pull, pair],
        gas_used=120_000,
    )
    base = result(root)
    transfers = [
        TokenTransfer.model_validate(
            {"standard": "ERC20", "token": USDC, "from": TRADER, "to": PAIR, "amount": SOLD}
        ),
        TokenTransfer.model_validate(
            {"standard": "ERC20", "token": WETH, "from": PAIR, "to": TRADER, "amount": BOUGHT}
        ),
    ]
    changes = [
        BalanceChange(
            address=TRADER,
            asset=USDC,
            before=SOLD,
            after=0,
            delta=-SOLD,  # symbol from the list
        ),
        BalanceChange(address=PAIR, asset=USDC, before=10**12, after=10**12 + SOLD, delta=SOLD),
        BalanceChange(
            address=TRADER,
            asset=WETH,
            symbol="WETH",
            decimals=18,
            before=0,
            after=BOUGHT,
            delta=BOUGHT,
        ),
    ]
    return base.model_copy(
        update={
            "chain_id": 1,
            "chain": "ethereum",
            "token_transfers": transfers,
            "balance_changes": changes,
            "original": ReceiptSummary(status=1, gas_used=100_000),
            "fidelity": Fidelity(verdict="exact"),
        }
    )


def rendered(width: int) -> str:
    buffer = io.StringIO()
    console = console_of_width(width, file=buffer)
    print_replay(swap(), labels={TRADER: "trader"}, console=console)
    return buffer.getvalue()


@pytest.mark.parametrize(("width", "name"), [(80, "80"), (120, "120"), (UNBOUNDED, "piped")])
def test_replay_report_matches_its_golden_file(width: int, name: str) -> None:
    text = rendered(width)
    golden = GOLDEN / f"replay_swap_{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()
    assert all(len(line) <= width for line in text.splitlines())


def test_piped_output_keeps_every_value_whole_on_one_line() -> None:
    text = rendered(UNBOUNDED)
    lines = text.splitlines()
    # the tree: one line per call, log and return, as cast prints it, names from the naming service
    assert (
        "  [120000] UniswapV2Router02::swapExactTokensForTokens(35000000000 [3.5e10], "
        f"11234567890123456789 [1.123e19], [USDC: [{USDC}], WETH: [{WETH}]], "
        f"trader: [{TRADER}], 1700000000 [1.7e9])"
    ) in lines
    assert "│ trader                                     │ USDC  │    35,000 │" in text
    assert any("11.234567890123456789" in line for line in lines)
    assert "…" not in text


def test_a_table_that_cannot_fit_switches_to_one_block_per_row() -> None:
    table = Table(title="Balance changes")
    for column in ("Address", "Asset", "Delta"):
        table.add_column(column)
    table.add_row(TRADER, "USDC", "-35,000")
    narrow = console_of_width(56, file=io.StringIO())
    vertical = fit(table, narrow)
    assert not isinstance(vertical, Table)
    narrow.print(vertical)
    assert narrow.file.getvalue() == (  # type: ignore[attr-defined]
        f"Balance changes\n─ 1\n  Address  {TRADER}\n  Asset    USDC\n  Delta    -35,000\n"
    )
    assert fit(table, console_of_width(120, file=io.StringIO())) is table


@pytest.mark.parametrize("width", [80, 120])
def test_on_a_terminal_no_table_cell_is_cut(width: int) -> None:
    assert "…" not in rendered(width)
