"""Reentrancy: a contract entered again, in a state-changing frame, while an earlier frame of it
was still running and had handed control (a call, usually carrying value) to another contract.

Signals: the re-entry itself (required; reported only when value was at stake: the contract
sent value with the call that handed control over, or lost value over the transaction); that
value hand-over; the same function re-entered (or, cross-function, another state-changing one);
re-entered more than once; the contract losing value over the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.analysis.evidence import (
    amounts_text,
    confidence_from,
    context_of,
    is_precompile,
    losses_of,
    path_text,
    severity_for_loss,
    succeeded,
    visits,
)
from timemachine.models.analysis import Amount, Evidence, Finding
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

NAME = "reentrancy"


@dataclass
class _Reentry:
    """Every re-entry into one contract, in execution order."""

    pairs: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    outer_selectors: list[str] = field(default_factory=list)
    inner_selectors: list[str] = field(default_factory=list)
    value_handoff: bool = False
    inner_names: list[str] = field(default_factory=list)


def _label(frame: CallFrame) -> str:
    return frame.decoded.name if frame.decoded else frame.selector or "fallback"


def _entered_contracts(result: ReplayResult) -> dict[str, _Reentry]:
    found: dict[str, _Reentry] = {}
    for visit in visits(result.trace):
        frame = visit.frame
        if frame.type != "CALL" or visit.static or not succeeded(frame) or not frame.to:
            continue
        target = context_of(frame)
        if is_precompile(target):
            continue
        ancestors = visit.ancestors
        # The outermost still-running frame of the same contract, with control handed to another
        # contract in between (a plain self-call `this.f()` is not a re-entry).
        for position, (outer_path, outer) in enumerate(ancestors):
            if outer.type == "STATICCALL" or context_of(outer) != target:
                continue
            between = [ancestor for _, ancestor in ancestors[position + 1 :]]
            if not between or all(context_of(ancestor) == target for ancestor in between):
                continue
            handoff = between[0]
            record = found.setdefault(target, _Reentry())
            record.pairs.append((outer_path, visit.path))
            record.outer_selectors.append(outer.selector or "fallback")
            record.inner_selectors.append(frame.selector or "fallback")
            record.inner_names.append(_label(frame))
            if handoff.value > 0:
                record.value_handoff = True
            break
    return found


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per re-entered contract."""
    findings: list[Finding] = []
    for contract, record in _entered_contracts(result).items():
        same_function = any(
            outer == inner
            for outer, inner in zip(record.outer_selectors, record.inner_selectors, strict=True)
        )
        lost = losses_of(result, contract)
        signals = ["re-entered while an earlier frame of it was still running"]
        if record.value_handoff:
            signals.append("the running frame sent value to the contract that re-entered")
        if same_function:
            signals.append("the same function was re-entered")
        else:
            signals.append("another state-changing function was re-entered (cross-function)")
        if len(record.pairs) > 1:
            signals.append(f"re-entered {len(record.pairs)} times")
        if lost:
            signals.append("the contract lost value over the transaction")
        if not lost and not record.value_handoff:
            continue  # nothing at stake: e.g. the caller's own contract called back by its callee
        severity = severity_for_loss(result, contract)
        outer_path, inner_path = record.pairs[0]
        frames = [path_text(outer_path), path_text(inner_path)]
        frames += [path_text(inner) for _, inner in record.pairs[1:10]]
        selectors = sorted(set(record.outer_selectors) | set(record.inner_selectors))
        kind = "Single-function" if same_function else "Cross-function"
        names = ", ".join(dict.fromkeys(record.inner_names))
        drained = amounts_text(lost) or "nothing"
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.REENTRANCY,
                severity=severity,
                confidence=confidence_from(len(signals) - 1),
                title=f"{kind} reentrancy into {contract}",
                explanation=(
                    f"{contract} handed control to another contract (frame {frames[0]}) and was "
                    f"entered again ({names}) before that frame finished, {len(record.pairs)} "
                    f"time(s); it lost {drained} over the transaction. State written after the "
                    "external call was stale during every nested entry."
                ),
                recommendation=(
                    "Apply checks-effects-interactions (update balances/shares before sending "
                    "value or calling out) and guard every state-changing entry point that shares "
                    "that state with one reentrancy lock (e.g. OpenZeppelin ReentrancyGuard)."
                ),
                evidence=Evidence(
                    frames=frames,
                    addresses=[contract],
                    selectors=selectors,
                    amounts=[
                        Amount(address=contract, asset=asset, amount=amount)
                        for asset, amount in lost.items()
                    ],
                    signals=signals,
                ),
            )
        )
    return findings
