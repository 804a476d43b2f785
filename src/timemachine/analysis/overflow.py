"""Integer overflow: wrapped (modulo 2**256) arithmetic that creates balances out of nothing.

Signals, per contract the frames run on:
- wrapped multiplication: a successful call whose decoded arguments hold an array of n >= 2
  items and an unsigned integer v with n * v >= 2**256 (the BEC `batchTransfer` pattern);
- absurd amounts: `Transfer` events the contract emits for >= 2**255 base units;
- storage jumps: slots of the contract that held < 2**128 and end >= 2**224 (not the
  2**256 - 1 "unlimited" sentinel);
- the contract losing value (ETH or tokens) over the transaction.

- underflows: of those jumps, slots ending at or above 2**256 - 2**128 (a small negative number:
  a balance decremented past zero; a packed word with an address on top is not all ones there).

A finding needs a wrapped multiplication or an absurd amount, or a storage jump together with a
loss. Severity comes from the contract's loss only when an arithmetic signal (multiplication,
amount, or an underflow with a loss) is present; otherwise it is low.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from timemachine.analysis import evidence
from timemachine.models.analysis import Amount, Evidence, Finding, Severity, SlotChange
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

NAME = "overflow"

WORD = 2**256
HUGE = 2**255
"""Amounts and slot values at or above this are absurd for any balance (half of uint256)."""
JUMP = 2**224
"""A slot that ends at or above this from below SMALL jumped (2**255 credited, less a sale)."""
SMALL = 2**128
UNLIMITED = WORD - 1
BELOW_ZERO = WORD - SMALL
"""A slot from below SMALL to at or above this (not UNLIMITED) holds a small negative number in
two's complement: a balance or counter decremented past zero (an unchecked underflow)."""


@dataclass
class _Contract:
    products: list[tuple[str, int, int]] = field(default_factory=list)
    """(frame path, array length, value) whose product wrapped."""
    huge_transfers: list[tuple[str, str, int]] = field(default_factory=list)
    """(frame path, recipient, amount) of Transfer events >= 2**255."""
    jumps: list[SlotChange] = field(default_factory=list)
    """Storage slots that jumped from < 2**128 to >= 2**224."""
    underflows: int = 0
    """How many of `jumps` went below zero (>= 2**256 - 2**128): arithmetic, not a packed word."""


def _wrapped_products(frame: CallFrame) -> list[tuple[int, int]]:
    """(n, v) pairs of decoded args: an array of n >= 2 items and a uint v with n * v >= 2**256."""
    if frame.decoded is None:
        return []
    lengths: list[int] = []
    values: list[int] = []
    for arg in frame.decoded.args:
        value: Any = arg.value
        if arg.type.endswith("]") and isinstance(value, list) and len(value) >= 2:
            lengths.append(len(value))
        elif arg.type.startswith("uint") and isinstance(value, int) and not isinstance(value, bool):
            values.append(value)
    return [(n, v) for n in lengths for v in values if n * v >= WORD]


def _int(word: str | None) -> int:
    try:
        return int(word or "0x0", 16)
    except ValueError:
        return 0


def _collect(result: ReplayResult) -> dict[str, _Contract]:
    found: dict[str, _Contract] = {}
    for visit in evidence.visits(result.trace):
        frame = visit.frame
        if not evidence.succeeded(frame) or frame.type == "STATICCALL" or visit.static:
            continue
        context = evidence.context_of(frame)
        where = evidence.path_text(visit.path)
        for n, v in _wrapped_products(frame):
            found.setdefault(context, _Contract()).products.append((where, n, v))
        for log in frame.logs:
            event = log.event
            if event is None or event.name != "Transfer" or len(event.args) != 3:
                continue
            amount = event.args[2].value
            if isinstance(amount, int) and not isinstance(amount, bool) and amount >= HUGE:
                recipient = evidence.lower(str(event.args[1].value))
                found.setdefault(evidence.lower(log.address), _Contract()).huge_transfers.append(
                    (where, recipient, amount)
                )
    for account, state in result.state_diff.post.items():
        pre = result.state_diff.pre.get(account)
        for slot, word in state.storage.items():
            old_word = pre.storage.get(slot) if pre is not None else None
            after, before = _int(word), _int(old_word)
            if after >= JUMP and after != UNLIMITED and before < SMALL:
                change = SlotChange(
                    address=evidence.lower(account), slot=slot, before=old_word, after=word
                )
                seen = found.setdefault(evidence.lower(account), _Contract())
                seen.jumps.append(change)
                seen.underflows += after >= BELOW_ZERO
    return found


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per contract whose arithmetic wrapped."""
    findings: list[Finding] = []
    for contract, seen in _collect(result).items():
        lost = evidence.losses_of(result, contract)
        arithmetic = bool(seen.products or seen.huge_transfers or (seen.underflows and lost))
        if not arithmetic and not (seen.jumps and lost):
            continue
        signals: list[str] = []
        for where, n, v in seen.products:
            signals.append(
                f"{where}: {n} array items x {v} = {n * v} >= 2**256, wraps to {(n * v) % WORD}"
            )
        if seen.huge_transfers:
            signals.append(
                f"{len(seen.huge_transfers)} Transfer event(s) of >= 2**255 base units "
                f"(largest {max(amount for _, _, amount in seen.huge_transfers)})"
            )
        if seen.jumps:
            signals.append(f"{len(seen.jumps)} storage slot(s) jumped from < 2**128 to >= 2**224")
        if seen.underflows:
            signals.append(
                f"{seen.underflows} of them went below zero (a small negative number in two's "
                "complement: decremented past zero without a check)"
            )
        if lost:
            signals.append("the contract lost value over the transaction")
        severity: Severity = (
            evidence.severity_for_loss(result, contract) if arithmetic and lost else "low"
        )
        outflows = evidence.outflows_from(result.trace, contract)
        paid_out = sum(frame.value for _, frame in outflows)
        kinds = len([s for s in (seen.products, seen.huge_transfers, seen.jumps, lost) if s])
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.INTEGER_OVERFLOW,
                severity=severity,
                confidence=evidence.confidence_from(kinds - 1, base=0.5),
                title=f"Integer overflow in {contract}",
                explanation=(
                    f"Arithmetic in {contract} wrapped modulo 2**256: "
                    + "; ".join(signals)
                    + f". The contract paid out {evidence.amount_text('ETH', paid_out)} afterwards."
                ),
                recommendation=(
                    "Compile with Solidity >= 0.8 (checked arithmetic) or use SafeMath for every "
                    "operation on amounts, and bound batch sizes and per-item values."
                ),
                evidence=Evidence(
                    frames=list(
                        dict.fromkeys(
                            [
                                *(where for where, _, _ in seen.products),
                                *(where for where, _, _ in seen.huge_transfers),
                                *(evidence.path_text(path) for path, _ in outflows),
                            ]
                        )
                    ),
                    addresses=[contract],
                    storage=seen.jumps,
                    amounts=[
                        *(Amount(address=contract, asset=a, amount=v) for a, v in lost.items()),
                        *(
                            Amount(address=recipient, asset=contract, amount=amount)
                            for _, recipient, amount in seen.huge_transfers
                        ),
                        *(
                            Amount(
                                address=evidence.lower(frame.to), asset="ETH", amount=frame.value
                            )
                            for _, frame in outflows
                        ),
                    ],
                    signals=signals,
                ),
            )
        )
    return findings
