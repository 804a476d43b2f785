"""Flash loans: tokens borrowed and repaid within one transaction.

A flash loan is a funding tool, not a flaw: findings are always "info", and they say what funded
the transaction so that the other findings (what the money was used for) read in context.

Recognised two ways, per lender frame F (the outermost of the lender's contiguous frames around
the call that hands control to the borrower B):
- a known lender interface: F's function and B's callback are a known pair (ERC-3156 flashLoan /
  onFlashLoan, Aave V2/V3 flashLoan / flashLoanSimple + executeOperation, Balancer Vault flashLoan
  + receiveFlashLoan, Uniswap V2 flash swap swap + uniswapV2Call (and forks' callbacks), Uniswap
  V3 flash + uniswapV3FlashCallback, dYdX operate + callFunction), and some token reached B inside
  F before the callback;
- the pattern alone: B called the lender L (directly or not), tokens left L for B, L then called
  B back (the callback), and at least the same amount of the same token came back from B to L
  before F returned.

Signals: the movement pattern (borrowed before the callback, returned in full after it), the
known lender function, the known callback, and a fee paid on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.analysis.evidence import (
    amount_text,
    confidence_from,
    context_of,
    is_precompile,
    lower,
    path_text,
    visits,
)
from timemachine.analysis.token_moves import Move, Steps, steps
from timemachine.models.analysis import Amount, Evidence, Finding
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame
from timemachine.trace.signatures import keccak_signature

NAME = "flash_loan"


def _selector(signature: str) -> str:
    return keccak_signature(signature)[:10]


_V2_CALLBACKS = ("uniswapV2Call", "pancakeCall", "BiswapCall", "sushiCall")

#: (interface, lender function signature, borrower callback signatures)
INTERFACES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "ERC-3156",
        "flashLoan(address,address,uint256,bytes)",
        ("onFlashLoan(address,address,uint256,uint256,bytes)",),
    ),
    (
        "Aave V2/V3 flashLoan",
        "flashLoan(address,address[],uint256[],uint256[],address,bytes,uint16)",
        ("executeOperation(address[],uint256[],uint256[],address,bytes)",),
    ),
    (
        "Aave V3 flashLoanSimple",
        "flashLoanSimple(address,address,uint256,bytes,uint16)",
        ("executeOperation(address,uint256,uint256,address,bytes)",),
    ),
    (
        "Balancer Vault flashLoan",
        "flashLoan(address,address[],uint256[],bytes)",
        ("receiveFlashLoan(address[],uint256[],uint256[],bytes)",),
    ),
    (
        "Uniswap V2 flash swap",
        "swap(uint256,uint256,address,bytes)",
        tuple(f"{name}(address,uint256,uint256,bytes)" for name in _V2_CALLBACKS),
    ),
    (
        "Uniswap V3 flash",
        "flash(address,uint256,uint256,bytes)",
        ("uniswapV3FlashCallback(uint256,uint256,bytes)",),
    ),
    (
        "dYdX SoloMargin operate",
        "operate((address,uint256)[],(uint8,uint256,(bool,uint8,uint8,uint256),uint256,uint256,"
        "address,uint256,bytes)[])",
        ("callFunction(address,(address,uint256),bytes)",),
    ),
)

#: lender selector -> [(interface, callback selectors)]
_LENDERS: dict[str, list[tuple[str, frozenset[str]]]] = {}
for _interface, _lend, _callbacks in INTERFACES:
    _LENDERS.setdefault(_selector(_lend), []).append(
        (_interface, frozenset(_selector(callback) for callback in _callbacks))
    )


def known_interface(lender_selector: str | None, callback_selector: str | None) -> str | None:
    """The interface whose lender function and borrower callback these selectors are."""
    for interface, callbacks in _LENDERS.get(lender_selector or "", []):
        if callback_selector in callbacks:
            return interface
    return None


@dataclass
class Loan:
    """One flash loan: the lender's frame, the callback, and what moved each way per token."""

    lender: str
    borrower: str
    lender_path: tuple[int, ...]
    callback_path: tuple[int, ...]
    lender_frame: CallFrame
    callback: CallFrame
    interface: str | None
    borrowed: dict[tuple[str, str], int] = field(default_factory=dict)
    """(token, holder that sent it) -> amount borrowed before the callback."""
    returned: dict[tuple[str, str], int] = field(default_factory=dict)
    """(token, holder) -> amount B sent back to the holder from the callback on."""
    out_frames: list[str] = field(default_factory=list)
    back_frames: list[str] = field(default_factory=list)


def _lender_frame(
    ancestors: tuple[tuple[tuple[int, ...], CallFrame], ...], lender: str
) -> tuple[tuple[int, ...], CallFrame] | None:
    """The outermost frame of the lender's contiguous frames enclosing the callback."""
    found = None
    for path, frame in reversed(ancestors):
        if context_of(frame) != lender or frame.type == "STATICCALL":
            break
        found = (path, frame)
    return found


def _loans(result: ReplayResult) -> list[Loan]:
    order: Steps = steps(result.trace)
    loans: list[Loan] = []
    seen: set[tuple[tuple[int, ...], str]] = set()
    for visit in visits(result.trace):
        frame = visit.frame
        if frame.type != "CALL" or visit.static or frame.error is not None or not visit.ancestors:
            continue
        lender, borrower = lower(frame.from_), lower(frame.to)
        if not borrower or borrower == lender or is_precompile(borrower) or not frame.selector:
            continue
        if context_of(visit.ancestors[-1][1]) != lender or visit.path not in order.frames:
            continue
        outer = _lender_frame(visit.ancestors, lender)
        if outer is None or outer[0] not in order.frames or (outer[0], borrower) in seen:
            continue
        outer_path, outer_frame = outer
        interface = known_interface(outer_frame.selector, frame.selector)
        if interface is None and not any(
            context_of(ancestor) == borrower
            for path, ancestor in visit.ancestors
            if len(path) < len(outer_path)
        ):
            continue  # the pattern needs a call back into whoever asked for the loan
        start, end = order.frames[outer_path]
        callback_step = order.frames[visit.path][0]
        loan = Loan(lender, borrower, outer_path, visit.path, outer_frame, frame, interface)
        inside: list[Move] = [move for move in order.moves if start <= move.step < end]
        for move in inside:
            if move.step < callback_step and move.target == borrower and move.source != borrower:
                if interface is None and move.source != lender:
                    continue
                key = (move.token, move.source)
                loan.borrowed[key] = loan.borrowed.get(key, 0) + move.amount
                loan.out_frames.append(move.frame)
        if not loan.borrowed:
            continue
        for move in inside:
            key = (move.token, move.target)
            if move.step > callback_step and move.source == borrower and key in loan.borrowed:
                loan.returned[key] = loan.returned.get(key, 0) + move.amount
                loan.back_frames.append(move.frame)
        repaid = all(loan.returned.get(key, 0) >= amount for key, amount in loan.borrowed.items())
        if interface is None and not repaid:
            continue
        seen.add((outer_path, borrower))
        loans.append(loan)
    return loans


def _finding(loan: Loan) -> Finding:
    repaid = all(loan.returned.get(key, 0) >= amount for key, amount in loan.borrowed.items())
    fees = {
        key: max(0, loan.returned.get(key, 0) - amount) for key, amount in loan.borrowed.items()
    }
    signals = ["tokens reached the borrower inside the lender's call, before the callback"]
    if repaid:
        signals.append("at least the same amount of each token came back before the call ended")
    lender_name = loan.lender_frame.decoded.name if loan.lender_frame.decoded else None
    callback_name = loan.callback.decoded.name if loan.callback.decoded else None
    if loan.interface is not None:
        signals.append(f"known lender function ({loan.interface}: {loan.lender_frame.selector})")
        signals.append(f"known borrower callback ({loan.callback.selector})")
    if any(fees.values()):
        signals.append("a fee was paid on top of the amount borrowed")
    confidence = confidence_from(len(signals) - 1, base=0.5, step=0.1)
    holders = [holder for _, holder in loan.borrowed if holder != loan.lender]
    loans_text = "; ".join(
        f"{amount_text(token, amount)} (returned "
        f"{amount_text(token, loan.returned.get((token, holder), 0))}, "
        f"fee {amount_text(token, fees[(token, holder)])})"
        for (token, holder), amount in loan.borrowed.items()
    )
    for (token, holder), amount in loan.borrowed.items():
        signals.append(
            f"lender {loan.lender}, borrower {loan.borrower}, token {token}, amount {amount}, "
            f"fee {fees[(token, holder)]}"
            + (f", funds held by {holder}" if holder != loan.lender else "")
        )
    how = loan.interface or "an unrecognised interface, by the borrow-callback-repay pattern"
    called = callback_name or loan.callback.selector
    explanation = (
        f"The transaction was funded by a flash loan: {loan.borrower} borrowed {loans_text} from "
        f"{loan.lender} ({how}; frame {path_text(loan.lender_path)}"
        + (f", {lender_name}" if lender_name else "")
        + f") and got control back through {called} (frame {path_text(loan.callback_path)}). "
        + (
            "Everything was repaid before the lender's call returned."
            if repaid
            else "It was settled in another token before the lender's call returned."
        )
        + " A flash loan is only the funding: see the other findings for what it paid for."
    )
    return Finding(
        detector=NAME,
        vulnerability_class=VulnerabilityClass.FLASH_LOAN,
        severity="info",
        confidence=confidence,
        title=f"Flash loan from {loan.lender} to {loan.borrower}",
        explanation=explanation,
        recommendation=(
            "Nothing to fix in the loan itself. Protocols the borrowed funds touched must not "
            "trust anything one transaction can move with unlimited capital: spot prices and pool "
            "reserves, balances, voting power, share prices."
        ),
        evidence=Evidence(
            frames=list(
                dict.fromkeys(
                    [
                        path_text(loan.lender_path),
                        *loan.out_frames,
                        path_text(loan.callback_path),
                        *loan.back_frames,
                    ]
                )
            ),
            addresses=list(dict.fromkeys([loan.lender, loan.borrower, *holders])),
            selectors=[
                selector
                for selector in (loan.lender_frame.selector, loan.callback.selector)
                if selector
            ],
            amounts=[
                *(
                    Amount(address=loan.borrower, asset=token, amount=amount)
                    for (token, _), amount in loan.borrowed.items()
                ),
                *(
                    Amount(address=holder, asset=token, amount=fees[(token, holder)])
                    for token, holder in loan.borrowed
                ),
            ],
            signals=signals,
        ),
    )


def detect(result: ReplayResult) -> list[Finding]:
    """One info finding per flash loan (lender frame and borrower)."""
    return [_finding(loan) for loan in _loans(result)]
