"""cast-style trace tree, balance table and fidelity verdict renderers."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode

from timemachine.models import (
    BalanceChange,
    CallFrame,
    DecodedArg,
    DecodedCall,
    DecodedEvent,
    Difference,
    Fidelity,
    LogEntry,
)
from timemachine.trace.render import (
    render_balance_changes,
    render_fidelity,
    render_trace,
    render_trace_plain,
    status_of,
    to_plain,
)

EOA = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BANK = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
ATTACKER = "0x8464135c8F25Da09e49BC8782676a84730C318bC"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HELPER = "0x8398bCD4f633C72939F9043dB78c574A91C99c0A"
IMPL = "0x0000000000000000000000000000000000001234"
LABELS = {BANK: "Bank", ATTACKER.lower(): "Attacker", TOKEN: "Token", HELPER: "Helper"}


def call(
    name: str, *args: tuple[str, str, Any], outputs: list[DecodedArg] | None = None
) -> DecodedCall:
    types = ",".join(type_ for _, type_, _ in args)
    return DecodedCall(
        signature=f"{name}({types})",
        name=name,
        args=[DecodedArg(name=n, type=t, value=v) for n, t, v in args],
        outputs=outputs,
    )


def event(name: str, *args: tuple[str, str, Any]) -> DecodedEvent:
    types = ",".join(type_ for _, type_, _ in args)
    return DecodedEvent(
        signature=f"{name}({types})",
        name=name,
        args=[DecodedArg(name=n, type=t, value=v) for n, t, v in args],
    )


def frame(**fields: Any) -> CallFrame:
    fields.setdefault("type", "CALL")
    return CallFrame.model_validate(fields)


def log(address: str, index: int | None, decoded: DecodedEvent | None = None) -> LogEntry:
    return LogEntry(
        address=address, topics=["0x" + "11" * 32], data="0x", index=index, event=decoded
    )


REVERT_DATA = "0x08c379a0" + encode(["string"], ["reentrant"]).hex()
RAW_LOG = LogEntry(
    address=BANK,
    topics=["0x" + "aa" * 32, "0x" + "bb" * 32],
    data="0x" + "cc" * 4,
    index=3,
)
TRACE = frame(
    **{"from": EOA},
    to=BANK,
    gas_used=84_213,
    input="0x3ccfd60b",
    decoded=call("withdraw"),
    logs=[
        log(
            BANK,
            1,
            event("Withdrawn", ("user", "address", ATTACKER), ("amount", "uint256", 10**18)),
        ),
        RAW_LOG,
    ],
    calls=[
        frame(
            **{"from": BANK},
            to=ATTACKER,
            value=10**18,
            gas_used=7_353,
            logs=[log(ATTACKER, 0, event("Hit", ("n", "uint256", 1)))],
            calls=[
                frame(
                    **{"from": ATTACKER},
                    to=BANK,
                    gas_used=1_200,
                    input="0x3ccfd60b",
                    decoded=call("withdraw"),
                    output=REVERT_DATA,
                    error="execution reverted",
                    revert_reason="reentrant",
                )
            ],
        ),
        frame(
            type="STATICCALL",
            **{"from": BANK},
            to=TOKEN,
            gas_used=2_500,
            input="0x70a08231",
            decoded=call(
                "balanceOf",
                ("account", "address", BANK),
                outputs=[DecodedArg(name="", type="uint256", value=12_345_678)],
            ),
            output="0x" + "00" * 32,
        ),
        frame(
            type="CREATE",
            **{"from": BANK},
            to=HELPER,
            gas_used=30_000,
            input="0x6080",
            output="0x60806040",
            logs=[log(HELPER, 2, event("Born", ("who", "address", BANK)))],
        ),
        frame(
            type="DELEGATECALL",
            **{"from": BANK},
            to=IMPL,
            gas_used=100,
            input="0xdeadbeef" + "00" * 31 + "01",
            error="out of gas",
        ),
    ],
)

# The models carry no callTracer log position yet, so a child call without logs (the reverted
# reentrant withdraw) is placed right after the previous item (see trace.order).
EXPECTED = """\
Traces:
  [84213] Bank::withdraw()
    ├─ [7353] Attacker::receive{value: 1 ETH}()
    │   ├─ [1200] Bank::withdraw()
    │   │   └─ ← [Revert] reentrant
    │   ├─ emit Hit(n: 1)
    │   └─ ← [Stop]
    ├─ [2500] Token::balanceOf(Bank: [0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512]) [staticcall]
    │   └─ ← [Return] 12345678 [1.234e7]
    ├─ emit Withdrawn(user: Attacker: [0x8464135c8F25Da09e49BC8782676a84730C318bC], \
amount: 1000000000000000000 [1e18])
    ├─ [30000] → new Helper@0x8398bCD4f633C72939F9043dB78c574A91C99c0A
    │   ├─ emit Born(who: Bank: [0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512])
    │   └─ ← [Return] 4 bytes of code
    ├─ [100] 0x0000000000000000000000000000000000001234::deadbeef(\
0000000000000000000000000000000000000000000000000000000000000001) [delegatecall]
    │   └─ ← [OutOfGas] EvmError: OutOfGas
    ├─  emit topic 0: 0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    │        topic 1: 0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
    │           data: 0xcccccccc
    └─ ← [Stop]"""


def test_tree_matches_cast_run_layout() -> None:
    assert render_trace_plain(TRACE, labels=LABELS) == EXPECTED


def test_without_labels_addresses_are_shown_and_creations_unknown() -> None:
    lines = render_trace_plain(TRACE, title=None).splitlines()
    assert lines[0] == f"  [84213] {BANK}::withdraw()"
    assert lines[9] == f"    ├─ [30000] → new <unknown>@{HELPER}"
    assert lines[10] == f"    │   ├─ emit Born(who: {BANK})"


def test_max_depth_folds_deeper_frames_where_they_were_called() -> None:
    assert (
        render_trace_plain(TRACE, labels=LABELS, max_depth=0)
        == """\
Traces:
  [84213] Bank::withdraw()
    ├─ … 3 more frames
    ├─ emit Withdrawn(user: Attacker: [0x8464135c8F25Da09e49BC8782676a84730C318bC], \
amount: 1000000000000000000 [1e18])
    ├─ … 2 more frames
    ├─  emit topic 0: 0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
    │        topic 1: 0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
    │           data: 0xcccccccc
    └─ ← [Stop]"""
    )
    depth_one = render_trace_plain(TRACE, labels=LABELS, max_depth=1).splitlines()
    assert depth_one[2:6] == [
        "    ├─ [7353] Attacker::receive{value: 1 ETH}()",
        "    │   ├─ … 1 more frame",
        "    │   ├─ emit Hit(n: 1)",
        "    │   └─ ← [Stop]",
    ]
    assert render_trace_plain(TRACE, labels=LABELS, max_depth=5) == EXPECTED


def test_styles_follow_foundry_colors() -> None:
    text = render_trace(TRACE, labels=LABELS)
    styled = [(text.plain[span.start : span.end], str(span.style)) for span in text.spans]
    assert styled[:5] == [
        ("Bank::withdraw", "green"),
        ("Attacker::receive", "green"),
        ("Bank::withdraw", "red"),
        ("← [Revert]", "red"),
        ("Hit(n: 1)", "cyan"),
    ]
    assert (" [staticcall]", "yellow") in styled
    assert ("→ new", "yellow") in styled


@pytest.mark.parametrize(
    ("error", "output", "status"),
    [
        (None, None, "Stop"),
        (None, "0x", "Stop"),
        (None, "0x01", "Return"),
        ("execution reverted", "0x", "Revert"),
        ("out of gas", None, "OutOfGas"),
        ("invalid opcode: INVALID", None, "InvalidFEOpcode"),
        ("invalid opcode: opcode 0x21 not defined", None, "OpcodeNotFound"),
        ("stack underflow (0 <=> 1)", None, "StackUnderflow"),
        ("write protection", None, "StateChangeDuringStaticCall"),
        ("OutOfFunds", None, "OutOfFunds"),
        ("something new happened", None, "Error"),
    ],
)
def test_status_names(error: str | None, output: str | None, status: str) -> None:
    assert status_of(frame(**{"from": EOA}, to=BANK, error=error, output=output)) == status


def test_revert_footers() -> None:
    empty = frame(**{"from": EOA}, to=BANK, error="execution reverted")
    custom = frame(
        **{"from": EOA}, to=BANK, error="execution reverted", output="0xdeadbeef" + "00" * 31 + "07"
    )
    panic = frame(
        **{"from": EOA},
        to=BANK,
        error="execution reverted",
        output="0x4e487b71" + "00" * 31 + "11",
        revert_reason="panic: arithmetic underflow or overflow (0x11)",
    )
    assert render_trace_plain(empty, title=None).splitlines()[-1] == (
        "    └─ ← [Revert] EvmError: Revert"
    )
    assert render_trace_plain(custom, title=None).splitlines()[-1] == (
        "    └─ ← [Revert] custom error 0xdeadbeef: " + "00" * 31 + "07"
    )
    assert render_trace_plain(panic, title=None).splitlines()[-1] == (
        "    └─ ← [Revert] panic: arithmetic underflow or overflow (0x11)"
    )


def test_undecoded_calls_and_selfdestruct() -> None:
    trace = frame(
        **{"from": EOA},
        to=BANK,
        input="0x01",
        calls=[frame(type="SELFDESTRUCT", **{"from": BANK}, to=EOA, value=5)],
    )
    assert render_trace_plain(trace, title=None, labels=LABELS).splitlines() == [
        "  [0] Bank::fallback(01)",
        f"    ├─ [0] Bank::selfdestruct{{value: 0.000000000000000005 ETH}}({EOA})",
        "    │   └─ ← [SelfDestruct]",
        "    └─ ← [Stop]",
    ]


def test_balance_table_formats_units() -> None:
    changes = [
        BalanceChange(
            address=ATTACKER,
            asset="ETH",
            symbol="ETH",
            decimals=18,
            before=0,
            after=2 * 10**18 + 5 * 10**17,
            delta=2 * 10**18 + 5 * 10**17,
        ),
        BalanceChange(
            address=BANK,
            asset=TOKEN,
            symbol="USDC",
            decimals=6,
            before=5_000_000,
            after=3_250_000,
            delta=-1_750_000,
        ),
        BalanceChange(address=EOA, asset=HELPER, delta=3),
    ]
    assert to_plain(render_balance_changes(changes, labels=LABELS), width=100) == (
        "                                Balance changes                                 \n"
        "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━┳━━━━━━━┳━━━━━━━┓\n"
        "┃ Address                                    ┃ Asset  ┃ Before ┃ After ┃ Delta ┃\n"
        "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━╇━━━━━━━╇━━━━━━━┩\n"
        "│ Attacker                                   │ ETH    │      0 │   2.5 │  +2.5 │\n"
        "│ Bank                                       │ USDC   │      5 │  3.25 │ -1.75 │\n"
        "│ 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 │ Helper │      — │     — │    +3 │\n"
        "└────────────────────────────────────────────┴────────┴────────┴───────┴───────┘\n"
    )


def test_fidelity_exact_and_diverged() -> None:
    exact = render_fidelity(Fidelity(verdict="exact", notes=["coinbase differs"]))
    assert exact.plain == "Fidelity: exact\n  note: coinbase differs"
    assert str(exact.spans[0].style) == "bold green"
    diverged = render_fidelity(
        Fidelity(
            verdict="diverged",
            differences=[
                Difference(
                    field="gas_used",
                    original=21_000,
                    replayed=23_100,
                    explanation="cold storage access",
                ),
                Difference(field="logs[0].data", original="0x01", replayed="0x02", explanation=""),
            ],
        )
    )
    assert diverged.plain == (
        "Fidelity: diverged\n"
        "  - gas_used: original 21000, replayed 23100 (cold storage access)\n"
        "  - logs[0].data: original '0x01', replayed '0x02'"
    )
    assert str(diverged.spans[0].style) == "bold red"
