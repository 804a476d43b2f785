"""The reentrancy forms where the contract entered mid-update is not the one that loses:

- read-only reentrancy: contract A handed control to another contract in the middle of a
  state-changing frame (its storage changed over the tx and the frame went on calling or logging
  after the hand-over); during the hand-over a third contract B read A through a STATICCALL and
  then paid value out — it acted on A's half-updated state (Curve `get_virtual_price` style);
- cross-contract reentrancy: during such a hand-over, a contract B that deals with A (called it,
  or was called by it, in this tx) was entered and lost value with no entitlement
  (`relationships.extractions`).
"""

from __future__ import annotations

from dataclasses import dataclass

from timemachine.analysis import evidence
from timemachine.analysis.profit import attacker_addresses
from timemachine.analysis.relationships import extractions
from timemachine.models.analysis import Amount, Evidence, Finding, Severity
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

READ_ONLY = "read_only_reentrancy"
CROSS_CONTRACT = "cross_contract"


@dataclass(frozen=True)
class MidUpdate:
    """A frame of `contract` that handed control away at child `handoff` and went on after."""

    contract: str
    path: tuple[int, ...]
    handoff: int


def _continues(frame: CallFrame, index: int) -> bool:
    """Whether `frame` called or logged again after its child `index` returned."""
    later_calls = any(evidence.succeeded(child) for child in frame.calls[index + 1 :])
    later_logs = any(log.position is None or log.position > index for log in frame.logs)
    return later_calls or later_logs


def mid_update(visit: evidence.Visit, changed: set[str], attackers: set[str]) -> MidUpdate | None:
    """The outermost frame enclosing `visit` of a contract outside the attacker side whose
    storage changed in the tx, that had handed control to another contract and went on after."""
    chain = (*visit.ancestors, (visit.path, visit.frame))
    for position, (path, frame) in enumerate(visit.ancestors):
        contract = evidence.context_of(frame)
        if frame.type == "STATICCALL" or contract not in changed or not evidence.succeeded(frame):
            continue
        if contract in attackers:
            continue
        below = chain[position + 1 :]
        if all(evidence.context_of(inner) == contract for _, inner in below):
            continue
        handoff = visit.path[len(path)]
        if _continues(frame, handoff):
            return MidUpdate(contract, path, handoff)
    return None


def _payouts(frame: CallFrame, payer: str, path: tuple[int, ...], after: int) -> list[Amount]:
    paid: list[Amount] = []
    for position in range(after + 1, len(frame.calls)):
        child = frame.calls[position]
        paid += [
            Amount(address=evidence.lower(inner.to), asset="ETH", amount=inner.value)
            for _, inner in evidence.outflows_from(child, payer)
        ]
        paid += [
            Amount(address=target, asset=token, amount=amount)
            for token, target, amount in evidence.token_outflows(child, payer)
        ]
    return paid


def _acting_reader(
    visit: evidence.Visit, update: MidUpdate, skip: set[str]
) -> tuple[str, tuple[int, ...], list[Amount]] | None:
    """The nearest enclosing contract (inside the hand-over) that paid out after the read."""
    for depth in range(len(visit.ancestors) - 1, len(update.path), -1):
        path, frame = visit.ancestors[depth]
        contract = evidence.context_of(frame)
        if contract in skip or contract == update.contract:
            return None
        paid = _payouts(frame, contract, path, visit.path[len(path)])
        if paid:
            return contract, path, paid
    return None


def _changed_contracts(result: ReplayResult) -> set[str]:
    return {
        evidence.lower(address)
        for address, state in result.state_diff.post.items()
        if state.storage
    }


def detect(result: ReplayResult) -> list[Finding]:
    """Read-only and cross-contract reentrancy findings, one per (updated, acting) pair."""
    changed = _changed_contracts(result)
    if not changed:
        return []
    attackers = set(attacker_addresses(result))
    findings: dict[tuple[str, str], Finding] = {}
    unentitled = {item.contract: item for item in extractions(result) if not item.exchanged}
    related = _related(result.trace)
    updates = [
        (visit, update)
        for visit in evidence.visits(result.trace)
        if evidence.succeeded(visit.frame)
        and visit.ancestors
        and not evidence.is_precompile(visit.frame.to)
        for update in [mid_update(visit, changed, attackers)]
        if update is not None
    ]
    for visit, update in updates:  # read-only first: it names the view the victim acted on
        frame = visit.frame
        if frame.type == "STATICCALL" and evidence.lower(frame.to) == update.contract:
            acting = _acting_reader(visit, update, attackers)
            if acting is None or (update.contract, acting[0]) in findings:
                continue
            reader, reader_path, paid = acting
            findings[update.contract, reader] = _read_only(result, update, visit, reader_path, paid)
    for visit, update in updates:
        victim = evidence.context_of(visit.frame)
        if (
            visit.frame.type != "CALL"
            or visit.static
            or victim not in unentitled
            or victim in attackers
            or victim == update.contract
            or (update.contract, victim) in findings
            or frozenset((victim, update.contract)) not in related
        ):
            continue
        findings[update.contract, victim] = _cross_contract(result, update, visit, victim)
    return list(findings.values())


def _related(root: CallFrame) -> set[frozenset[str]]:
    """Pairs of contracts where one called the other somewhere in the tx."""
    pairs: set[frozenset[str]] = set()
    for visit in evidence.visits(root):
        if visit.ancestors and visit.frame.to:
            caller = evidence.context_of(visit.ancestors[-1][1])
            pairs.add(frozenset((caller, evidence.lower(visit.frame.to))))
    return pairs


def _severity(result: ReplayResult, victim: str) -> Severity:
    return (
        evidence.severity_for_loss(result, victim)
        if evidence.losses_of(result, victim)
        else "medium"
    )


def _read_only(
    result: ReplayResult,
    update: MidUpdate,
    read: evidence.Visit,
    reader_path: tuple[int, ...],
    paid: list[Amount],
) -> Finding:
    reader = evidence.context_of(read.ancestors[-1][1])
    payer = evidence.context_of(dict(read.ancestors)[reader_path])
    lost = evidence.losses_of(result, payer)
    handoff = evidence.path_text((*update.path, update.handoff))
    paid_out = ", ".join(evidence.amount_text(a.asset, a.amount) for a in paid)
    signals = [
        f"{update.contract} handed control away at {handoff} "
        "in the middle of a state-changing frame that went on afterwards",
        f"{reader} read {update.contract} (STATICCALL at {evidence.path_text(read.path)}) "
        "meanwhile",
        f"{payer} paid out {paid_out} after the read",
    ]
    if lost:
        signals.append(f"{payer} lost {evidence.amounts_text(lost)} over the transaction")
    return Finding(
        detector="reentrancy",
        vulnerability_class=VulnerabilityClass.REENTRANCY,
        severity=_severity(result, payer),
        confidence=evidence.confidence_from(len(signals) - 1),
        title=f"Read-only reentrancy: {payer} acted on {update.contract} mid-update",
        explanation=(
            f"While {update.contract} was between storage updates (it had handed control to "
            f"another contract, frame {handoff}), {reader} "
            f"read it through a view and {payer} paid out on that inconsistent value."
        ),
        recommendation=(
            "Make views revert (or read the reentrancy lock) while the contract is mid-update, "
            "and have consumers check the source's lock before trusting a view of it."
        ),
        evidence=Evidence(
            frames=[
                evidence.path_text(update.path),
                evidence.path_text(read.path),
                evidence.path_text(reader_path),
            ],
            addresses=list(dict.fromkeys([payer, update.contract, reader])),
            selectors=[read.frame.selector] if read.frame.selector else [],
            amounts=[
                *(Amount(address=payer, asset=a, amount=v) for a, v in lost.items()),
                *paid,
            ],
            signals=signals,
            form=READ_ONLY,
        ),
    )


def _cross_contract(
    result: ReplayResult, update: MidUpdate, entry: evidence.Visit, victim: str
) -> Finding:
    lost = evidence.losses_of(result, victim)
    signals = [
        f"{update.contract} handed control away mid-update at "
        f"{evidence.path_text((*update.path, update.handoff))}",
        f"{victim}, which deals with {update.contract} in this tx, was entered meanwhile "
        f"({evidence.path_text(entry.path)})",
        f"{victim} lost {evidence.amounts_text(lost)} with no entitlement of the receivers",
    ]
    return Finding(
        detector="reentrancy",
        vulnerability_class=VulnerabilityClass.REENTRANCY,
        severity=_severity(result, victim),
        confidence=evidence.confidence_from(len(signals) - 1),
        title=f"Cross-contract reentrancy into {victim} while {update.contract} was mid-update",
        explanation=(
            f"{update.contract} handed control to another contract before finishing its update; "
            f"meanwhile {victim}, which relies on it, was entered and paid out "
            f"{evidence.amounts_text(lost)}."
        ),
        recommendation=(
            "Share one reentrancy lock across contracts that read each other's state, and "
            "finish every state update before calling out (checks-effects-interactions)."
        ),
        evidence=Evidence(
            frames=[evidence.path_text(update.path), evidence.path_text(entry.path)],
            addresses=[victim, update.contract],
            selectors=[entry.frame.selector] if entry.frame.selector else [],
            amounts=[Amount(address=victim, asset=a, amount=v) for a, v in lost.items()],
            signals=signals,
            form=CROSS_CONTRACT,
        ),
    )
