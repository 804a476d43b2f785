"""Access control: a privileged role taken by an address that never held it, then used.

Signals: an owner-like storage slot (a word whose low 20 bytes are an address) changing from
another non-zero address to the caller or an attacker-controlled address; an initializer-style
function (`initialize`, `init`, `setup`, ...) called on a contract that was already set up;
value or tokens leaving that contract for the new owner later in the same transaction.
An address the contract then reads a view of (STATICCALL: an oracle, a feed) is a dependency
re-pointed, not a role (see `missing_access_control`). A finding needs the slot takeover plus one
more signal, or an initializer call followed by such
outflows. An owner using its own role changes no owner slot and is not reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from timemachine.analysis import evidence
from timemachine.analysis.profit import attacker_addresses
from timemachine.models.analysis import Amount, Evidence, Finding, SlotChange
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import AccountState

NAME = "access_control"
_INITIALIZER = re.compile(r"^_*(initiali[sz]e|init|setup|set_?up|configure)", re.IGNORECASE)


def _address_in(word: str | None) -> str | None:
    """The address in a storage word's low 20 bytes, or None when they are zero."""
    if not word:
        return None
    digits = word[2:] if word.startswith("0x") else word
    tail = digits.rjust(64, "0")[-40:]
    return None if int(tail, 16) == 0 else "0x" + tail.lower()


def _name(visit: evidence.Visit) -> str:
    return visit.frame.decoded.name if visit.frame.decoded else visit.frame.selector or "?"


def _account(accounts: dict[str, AccountState], address: str) -> AccountState | None:
    for account, state in accounts.items():
        if evidence.lower(account) == address:
            return state
    return None


@dataclass
class _Takeover:
    contract: str
    slot: SlotChange
    new_owner: str


def _takeovers(result: ReplayResult, takers: set[str]) -> list[_Takeover]:
    found: list[_Takeover] = []
    for account, after in result.state_diff.post.items():
        before = _account(result.state_diff.pre, evidence.lower(account))
        if before is None:
            continue
        reads = evidence.views_read(result, evidence.lower(account))
        for slot, new_word in after.storage.items():
            old_word = before.storage.get(slot)
            old, new = _address_in(old_word), _address_in(new_word)
            if old and new and old != new and new in takers and new not in reads:
                change = SlotChange(
                    address=evidence.lower(account), slot=slot, before=old_word, after=new_word
                )
                found.append(
                    _Takeover(contract=evidence.lower(account), slot=change, new_owner=new)
                )
    return found


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per contract whose privileged role was taken."""
    attackers = attacker_addresses(result)
    takers = set(attackers)
    calls = [
        visit
        for visit in evidence.visits(result.trace)
        if visit.frame.type == "CALL" and evidence.succeeded(visit.frame) and not visit.static
    ]
    takers.update(evidence.lower(visit.frame.from_) for visit in calls)
    takeovers = {item.contract: item for item in _takeovers(result, takers)}
    initializer_calls = {
        evidence.context_of(visit.frame): visit
        for visit in reversed(calls)
        if visit.frame.decoded and _INITIALIZER.match(visit.frame.decoded.name)
    }
    findings: list[Finding] = []
    for contract in dict.fromkeys([*takeovers, *initializer_calls]):
        takeover = takeovers.get(contract)
        init = initializer_calls.get(contract)
        owner = takeover.new_owner if takeover else evidence.lower(init.frame.from_) if init else ""
        beneficiaries = {owner, *attackers}
        start = init.path if init else ()
        outflow_frames: list[str] = []
        outflow_amounts: list[Amount] = []
        seen: set[tuple[int, ...]] = set()
        for visit in calls:
            if visit.path <= start or evidence.context_of(visit.frame) != contract:
                continue
            if any(visit.path[: len(done)] == done for done in seen):
                continue  # nested inside a frame of the contract already searched
            seen.add(visit.path)
            for relative, frame in evidence.outflows_from(visit.frame, contract):
                if evidence.lower(frame.to) in beneficiaries:
                    outflow_frames.append(evidence.path_text((*visit.path, *relative)))
                    outflow_amounts.append(
                        Amount(address=evidence.lower(frame.to), asset="ETH", amount=frame.value)
                    )
            for token, recipient, amount in evidence.token_outflows(visit.frame, contract):
                if recipient in beneficiaries:
                    outflow_amounts.append(Amount(address=recipient, asset=token, amount=amount))
        signals: list[str] = []
        if takeover:
            signals.append("an owner-like slot changed from another address to the caller")
        if init:
            signals.append(f"initializer-style function {_name(init)}() called")
        if outflow_amounts:
            signals.append("value left the contract for the new owner afterwards")
        if not ((takeover and len(signals) >= 2) or (init and outflow_amounts)):
            continue
        lost = evidence.losses_of(result, contract)
        frames = ([evidence.path_text(init.path)] if init else []) + outflow_frames
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.ACCESS_CONTROL,
                severity=evidence.severity_for_loss(result, contract),
                confidence=evidence.confidence_from(len(signals)),
                title=f"Privileged role of {contract} taken by {owner}",
                explanation=_explain(contract, owner, init, takeover, outflow_amounts),
                recommendation=(
                    "Protect initializers so they run once (OpenZeppelin Initializable / an "
                    "`initialized` check that reverts), initialize proxies atomically at deploy, "
                    "and gate every role-granting function with the existing role."
                ),
                evidence=Evidence(
                    frames=frames,
                    addresses=[contract, owner],
                    selectors=[init.frame.selector] if init and init.frame.selector else [],
                    storage=[takeover.slot] if takeover else [],
                    amounts=[
                        *(Amount(address=contract, asset=a, amount=v) for a, v in lost.items()),
                        *outflow_amounts,
                    ],
                    signals=signals,
                ),
            )
        )
    return findings


def _explain(
    contract: str,
    owner: str,
    init: evidence.Visit | None,
    takeover: _Takeover | None,
    outflows: list[Amount],
) -> str:
    how = f" through {init.frame.decoded.name}()" if init and init.frame.decoded else ""
    if takeover:
        how += f" (slot {takeover.slot.slot} changed from {_address_in(takeover.slot.before)})"
    moved = ", ".join(evidence.amount_text(a.asset, a.amount) for a in outflows) or "nothing"
    return (
        f"{owner} became the owner of {contract}{how} without ever holding that role, and then "
        f"moved {moved} out of the contract to itself."
    )
