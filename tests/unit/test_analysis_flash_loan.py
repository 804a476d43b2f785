"""The flash-loan detector on hand-built call trees: each known lender interface and the pattern."""

from __future__ import annotations

import pytest

from tests.unit.analysis_trees import ATTACKER, EOA, OTHER, VICTIM, call, result, transfer_log
from timemachine.analysis import flash_loan
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame
from timemachine.trace.signatures import keccak_signature

TOKEN = "0x00000000000000000000000000000000000000d0"
LENDER = VICTIM
BORROWER = ATTACKER
A_TOKEN = OTHER
LOAN = 1_000_000
FEE = 900


def selector(signature: str) -> str:
    return keccak_signature(signature)[:10]


def moved(source: str, target: str, amount: int) -> CallFrame:
    """A token frame emitting one ERC-20 Transfer."""
    frame = call(source, TOKEN, selector("transfer(address,uint256)"))
    frame.logs = [transfer_log(TOKEN, source, target, amount)]
    return frame


def loan(
    lend: str,
    callback: str,
    *,
    holder: str = LENDER,
    repaid: int = LOAN + FEE,
    repay_inside: bool = False,
) -> CallFrame:
    """BORROWER asks LENDER (function `lend`) for LOAN; `holder` sends it; LENDER calls
    `callback` on BORROWER; BORROWER repays `repaid` to `holder` inside the callback or after."""
    repayment = moved(BORROWER, holder, repaid)
    inner = [call(BORROWER, OTHER, "0x38ed1739")]
    if repay_inside:
        inner.append(repayment)
    calls = [
        moved(holder, BORROWER, LOAN),
        call(LENDER, BORROWER, callback, calls=inner),
    ]
    if not repay_inside:
        calls.append(repayment)
    lender = call(BORROWER, LENDER, lend, calls=calls)
    return call(EOA, BORROWER, "0xaaaaaaaa", calls=[lender])


CASES = [
    (
        "ERC-3156",
        "flashLoan(address,address,uint256,bytes)",
        "onFlashLoan(address,address,uint256,uint256,bytes)",
        LENDER,
        False,
    ),
    (
        "Aave V2/V3 flashLoan",
        "flashLoan(address,address[],uint256[],uint256[],address,bytes,uint16)",
        "executeOperation(address[],uint256[],uint256[],address,bytes)",
        A_TOKEN,
        False,
    ),
    (
        "Aave V3 flashLoanSimple",
        "flashLoanSimple(address,address,uint256,bytes,uint16)",
        "executeOperation(address,uint256,uint256,address,bytes)",
        A_TOKEN,
        False,
    ),
    (
        "Balancer Vault flashLoan",
        "flashLoan(address,address[],uint256[],bytes)",
        "receiveFlashLoan(address[],uint256[],uint256[],bytes)",
        LENDER,
        True,
    ),
    (
        "Uniswap V2 flash swap",
        "swap(uint256,uint256,address,bytes)",
        "uniswapV2Call(address,uint256,uint256,bytes)",
        LENDER,
        True,
    ),
    (
        "Uniswap V3 flash",
        "flash(address,uint256,uint256,bytes)",
        "uniswapV3FlashCallback(uint256,uint256,bytes)",
        LENDER,
        True,
    ),
    (
        "dYdX SoloMargin operate",
        "operate((address,uint256)[],(uint8,uint256,(bool,uint8,uint8,uint256),uint256,uint256,"
        "address,uint256,bytes)[])",
        "callFunction(address,(address,uint256),bytes)",
        LENDER,
        False,
    ),
]


def test_well_known_selectors() -> None:
    assert selector(CASES[0][1]) == "0x5cffe9de"
    assert selector(CASES[2][1]) == "0x42b0b77c"
    assert selector(CASES[3][1]) == "0x5c38449e"
    assert selector(CASES[4][2]) == "0x10d1e85c"
    assert selector(CASES[5][1]) == "0x490e6cbc"
    assert selector(CASES[6][1]) == "0xa67a6a45"
    assert selector(CASES[6][2]) == "0x8b418713"


@pytest.mark.parametrize(("interface", "lend", "callback", "holder", "inside"), CASES)
def test_known_interfaces_are_info_with_lender_borrower_token_amount_and_fee(
    interface: str, lend: str, callback: str, holder: str, inside: bool
) -> None:
    tree = loan(selector(lend), selector(callback), holder=holder, repay_inside=inside)
    [finding] = flash_loan.detect(result(tree))
    assert finding.detector == "flash_loan"
    assert finding.vulnerability_class is VulnerabilityClass.FLASH_LOAN
    assert (finding.severity, finding.confidence) == ("info", 0.9)
    assert finding.title == f"Flash loan from {LENDER} to {BORROWER}"
    repay_frame = "calls[0].calls[1].calls[1]" if inside else "calls[0].calls[2]"
    assert finding.evidence.frames == [
        "calls[0]",
        "calls[0].calls[0]",
        "calls[0].calls[1]",
        repay_frame,
    ]
    expected_addresses = [LENDER, BORROWER] + ([holder] if holder != LENDER else [])
    assert finding.evidence.addresses == expected_addresses
    assert finding.evidence.selectors == [selector(lend), selector(callback)]
    assert finding.evidence.amounts == [
        Amount(address=BORROWER, asset=TOKEN, amount=LOAN),
        Amount(address=holder, asset=TOKEN, amount=FEE),
    ]
    assert f"known lender function ({interface}: {selector(lend)})" in finding.evidence.signals
    assert finding.evidence.signals[-1] == (
        f"lender {LENDER}, borrower {BORROWER}, token {TOKEN}, amount {LOAN}, fee {FEE}"
        + (f", funds held by {holder}" if holder != LENDER else "")
    )
    assert "funded by a flash loan" in finding.explanation
    assert f"{LOAN} base units of token {TOKEN}" in finding.explanation


def test_unknown_interface_recognised_by_the_pattern() -> None:
    [finding] = flash_loan.detect(result(loan("0x12345678", "0x87654321")))
    assert (finding.severity, finding.confidence) == ("info", 0.7)
    assert finding.evidence.frames == [
        "calls[0]",
        "calls[0].calls[0]",
        "calls[0].calls[1]",
        "calls[0].calls[2]",
    ]
    assert finding.evidence.amounts[1] == Amount(address=LENDER, asset=TOKEN, amount=FEE)
    [free] = flash_loan.detect(result(loan("0x12345678", "0x87654321", repaid=LOAN)))
    assert free.confidence == 0.6
    assert free.evidence.amounts[1] == Amount(address=LENDER, asset=TOKEN, amount=0)


def test_pattern_not_repaid_is_not_a_flash_loan() -> None:
    assert flash_loan.detect(result(loan("0x12345678", "0x87654321", repaid=LOAN - 1))) == []


def test_known_flash_swap_settled_in_another_token_is_still_reported() -> None:
    swap, callback = selector(CASES[4][1]), selector(CASES[4][2])
    [finding] = flash_loan.detect(result(loan(swap, callback, repaid=0, repay_inside=True)))
    assert (finding.severity, finding.confidence) == ("info", 0.7)
    assert "settled in another token" in finding.explanation


def test_plain_round_trip_without_callback_is_not_a_flash_loan() -> None:
    tree = call(
        EOA,
        BORROWER,
        "0xaaaaaaaa",
        calls=[
            call(
                BORROWER,
                LENDER,
                "0x12345678",
                calls=[moved(LENDER, BORROWER, LOAN)],
            ),
            moved(BORROWER, LENDER, LOAN + FEE),
        ],
    )
    assert flash_loan.detect(result(tree)) == []


def test_pattern_needs_the_borrower_to_have_asked() -> None:
    """L pays B, calls B and is paid back, but B never called L: a deposit/redeem, not a loan."""
    tree = call(
        EOA,
        LENDER,
        "0x12345678",
        calls=[
            moved(LENDER, BORROWER, LOAN),
            call(LENDER, BORROWER, "0x87654321", calls=[moved(BORROWER, LENDER, LOAN + FEE)]),
        ],
    )
    assert flash_loan.detect(result(tree)) == []
