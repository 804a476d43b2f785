"""Reentrancy: a contract entered again, in a state-changing frame, while an earlier frame of it
was still running and had handed control (a call, usually carrying value) to another contract.

Signals: the re-entry itself (required; reported only when something was at stake: the contract
sent value with the call that handed control over, lost value over the transaction, minted or
sent tokens (NFTs included) inside the nested entries, or an invariant of it broke); that value
hand-over; the same function re-entered (or, cross-function, another state-changing one);
re-entered more than once; the contract losing value over the transaction.

Forms (`evidence.form`): `single_function`, `cross_function`, `callback_hook` (control handed
over through a token-receiver / ERC-777 / flash-loan callback), and the two forms in
`reentrancy_forms`: `read_only_reentrancy` and `cross_contract`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.analysis import evidence, reentrancy_forms
from timemachine.analysis.invariants import invariant_breaks
from timemachine.analysis.profit import attacker_addresses
from timemachine.analysis.token_moves import TRANSFER_TOPIC
from timemachine.models.analysis import Amount, Evidence, Finding, Severity
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

NAME = "reentrancy"
#: Callbacks a contract invites from the contract it called (on top of `HOOKS`): Uniswap V3
#: mint, PancakeSwap V3 swap, Algebra swap, Balancer flash loan, dYdX callFunction.
CALLBACKS = frozenset(
    ["0xd3487997", "0x23a69e75", "0x2c8958f6", "0xf04f2707", "0x8b418713", "0x84800812"]
)
ISSUE_TOPICS = frozenset(
    [
        TRANSFER_TOPIC,
        "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62",
        "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb",
    ]
)
"""ERC-20/721 Transfer, ERC-1155 TransferSingle and TransferBatch."""
#: Callbacks a contract hands control over with: token receivers, ERC-777 hooks, flash loans.
HOOKS = {
    "0x150b7a02": "onERC721Received",
    "0xf23a6e61": "onERC1155Received",
    "0xbc197c81": "onERC1155BatchReceived",
    "0x0023de29": "tokensReceived",
    "0x75ab9782": "tokensToSend",
    "0x23e30c8b": "onFlashLoan",
    "0x920f5c84": "executeOperation",
    "0x1b11d0ff": "executeOperation",
    "0x10d1e85c": "uniswapV2Call",
    "0xfa461e33": "uniswapV3SwapCallback",
    "0xe9cbafb0": "uniswapV3FlashCallback",
    "0xd9627aa4": "onDeposit",
}


@dataclass
class _Reentry:
    """Every re-entry into one contract, in execution order."""

    pairs: list[tuple[tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    outer_selectors: list[str] = field(default_factory=list)
    inner_selectors: list[str] = field(default_factory=list)
    value_handoff: bool = False
    inner_names: list[str] = field(default_factory=list)
    hook: str | None = None
    """The callback control was handed over through, when one was."""


def _label(frame: CallFrame) -> str:
    return frame.decoded.name if frame.decoded else frame.selector or "fallback"


def entered_contracts(root: CallFrame, attackers: set[str]) -> dict[str, _Reentry]:
    """Every contract outside the attacker side re-entered by the attacker side, in a
    state-changing frame, while an earlier frame of it ran.

    A callback the contract invited (a pool calling its router's swap callback) is no re-entry:
    the re-entering caller must be attacker-side and the re-entered function no known callback.
    """
    found: dict[str, _Reentry] = {}
    for visit in evidence.visits(root):
        frame = visit.frame
        if frame.type != "CALL" or visit.static or not evidence.succeeded(frame) or not frame.to:
            continue
        target = evidence.context_of(frame)
        invited = frame.selector in CALLBACKS or frame.selector in HOOKS
        if evidence.is_precompile(target) or target in attackers or invited:
            continue
        if not visit.ancestors or evidence.context_of(visit.ancestors[-1][1]) not in attackers:
            continue
        ancestors = visit.ancestors
        # The outermost still-running frame of the same contract, with control handed to another
        # contract in between (a plain self-call `this.f()` is not a re-entry).
        for position, (outer_path, outer) in enumerate(ancestors):
            if outer.type == "STATICCALL" or evidence.context_of(outer) != target:
                continue
            between = [ancestor for _, ancestor in ancestors[position + 1 :]]
            if not between or all(evidence.context_of(ancestor) == target for ancestor in between):
                continue
            handoff = between[0]
            record = found.setdefault(target, _Reentry())
            record.pairs.append((outer_path, visit.path))
            record.outer_selectors.append(outer.selector or "fallback")
            record.inner_selectors.append(frame.selector or "fallback")
            record.inner_names.append(_label(frame))
            if handoff.value > 0:
                record.value_handoff = True
            hooks = [HOOKS[a.selector] for a in between if a.selector in HOOKS]
            record.hook = record.hook or (hooks[0] if hooks else None)
            break
    return found


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per re-entered contract."""
    findings: list[Finding] = []
    attackers = set(attacker_addresses(result))
    entered = entered_contracts(result.trace, attackers)
    broken = invariant_breaks(result) if entered else []
    for contract, record in entered.items():
        same_function = any(
            outer == inner
            for outer, inner in zip(record.outer_selectors, record.inner_selectors, strict=True)
        )
        # A token paying out its own balance of itself (swap-and-liquify fees) holds no value.
        lost = {a: v for a, v in evidence.losses_of(result, contract).items() if a != contract}
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
        items = nested_issues(result.trace, record, contract, attackers)
        breaks = [item.text for item in broken if item.contract == contract]
        if record.hook:
            signals.append(f"control was handed over through the {record.hook} callback")
        if items:
            signals.append(
                f"{items} token(s) minted or sent by it inside the nested entries: a limit "
                "checked before the callback (cap, supply, per-account) did not hold"
            )
        signals += [f"invariant broken: {text}" for text in breaks]
        if not lost and not record.value_handoff and not items and not breaks:
            continue  # nothing at stake: e.g. the caller's own contract called back by its callee
        severity: Severity = "low"
        if lost:
            severity = evidence.severity_for_loss(result, contract)
        elif items or breaks:
            severity = "high"
        outer_path, inner_path = record.pairs[0]
        frames = [evidence.path_text(outer_path), evidence.path_text(inner_path)]
        frames += [evidence.path_text(inner) for _, inner in record.pairs[1:10]]
        selectors = sorted(set(record.outer_selectors) | set(record.inner_selectors))
        kind = "Single-function" if same_function else "Cross-function"
        form = "callback_hook" if record.hook else kind.lower().replace("-", "_")
        names = ", ".join(dict.fromkeys(record.inner_names))
        drained = evidence.amounts_text(lost) or "nothing"
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.REENTRANCY,
                severity=severity,
                confidence=evidence.confidence_from(len(signals) - 1),
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
                    form=form,
                ),
            )
        )
    reported = {finding.evidence.addresses[0] for finding in findings}
    others = reentrancy_forms.detect(result)
    return findings + [f for f in others if f.evidence.addresses[0] not in reported]


def _token_owner(topics: list[str]) -> str | None:
    """The `from` of a Transfer (topic 1) or an ERC-1155 TransferSingle/Batch (topic 2)."""
    index = 1 if topics[0].lower() == TRANSFER_TOPIC else 2
    return "0x" + topics[index][-40:].lower() if len(topics) > index else None


def nested_issues(root: CallFrame, record: _Reentry, contract: str, attackers: set[str]) -> int:
    """Tokens `contract` minted or sent (ERC-20/721 Transfer, ERC-1155 TransferSingle/Batch)
    inside its nested entries, other than the re-entering side moving tokens it already owned
    (a receiver hook forwarding what it just received breaks no limit)."""
    frames = {inner for _, inner in record.pairs}
    count = 0
    for path, frame in root.walk():
        if not any(path[: len(inner)] == inner for inner in frames) or frame.error is not None:
            continue
        for log in frame.logs:
            topic = log.topics[0].lower() if log.topics else ""
            named = log.event is not None and log.event.name.startswith("Transfer")
            if evidence.lower(log.address) != contract or not (topic in ISSUE_TOPICS or named):
                continue
            if topic in ISSUE_TOPICS and _token_owner(log.topics) in attackers:
                continue
            count += 1
    return count
