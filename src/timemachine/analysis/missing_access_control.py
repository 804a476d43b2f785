"""Missing access control (distinct from a role takeover): a privileged effect reached by an
arbitrary caller, with no role check visible on the path.

Privileged effects: paying out value the caller never deposited (an `Extraction` with no
entitlement), minting tokens to the caller that someone else then paid for, re-pointing an
EIP-1967 implementation/admin/beacon slot, changing an address-valued state variable (an oracle,
a fee recipient) or calling a pause/set/upgrade-style function that changed a plain state
variable. A slot re-pointed at an address the attacker side controls or created in the tx is
high/critical; other slot changes are "low" (a governor's or owner's call whose role check read
an unchanged slot looks the same). The caller is arbitrary when it is on the attacker side
(`attacker_addresses`) and called the contract directly; no role check happened when no storage
word of the contract held the caller's address before the tx, the contract called no authority
view (`owner()`, `hasRole`, `canCall`, ...) and checked no signature on the path.

Blind spot: an `msg.sender == owner` check reads a slot the state diff does not show when it is
unchanged, so an owner sweeping a contract it never recorded a claim in looks the same as an
arbitrary caller doing so (reported; see docs/detectors.md).
"""

from __future__ import annotations

import re

from timemachine.analysis.evidence import (
    ECRECOVER,
    Visit,
    confidence_from,
    context_of,
    lower,
    path_text,
    severity_for_loss,
    succeeded,
    views_read,
    visits,
)
from timemachine.analysis.invariants import ZERO
from timemachine.analysis.profit import attacker_addresses, profit_report
from timemachine.analysis.relationships import created_in_tx, extractions, held_address
from timemachine.analysis.token_moves import erc20_transfer
from timemachine.analysis.value_extraction import explaining
from timemachine.models.analysis import (
    SEVERITY_ORDER,
    Amount,
    Evidence,
    Finding,
    Severity,
    SlotChange,
)
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

NAME = "missing_access_control"
EIP1967_SLOTS = {
    "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc": "implementation",
    "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103": "admin",
    "0xa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50": "beacon",
}
#: owner(), hasRole(bytes32,address), isOwner(), isOwner(address), canCall(address,address,
#: bytes4), admin(), isAuthorized(address), getRoleAdmin(bytes32), authority()
AUTHORITY_VIEWS = frozenset(
    [
        "0x8da5cb5b",
        "0x91d14854",
        "0x8f32d59b",
        "0x2f54bf6e",
        "0xb7009613",
        "0xf851a440",
        "0xfe9fbb80",
        "0x248a9ca3",
        "0xbf7e214f",
    ]
)
_PRIVILEGED_NAME = re.compile(r"^_*(pause|unpause|set|upgrade|change|update|grant|mint)", re.I)
_PLAIN_SLOTS = 2**64
_ADDRESS_MASK = 2**160 - 1


def _address_word(word: int) -> bool:
    return 0 < word <= _ADDRESS_MASK and word >= 2**128


def _role_checked(entry: Visit) -> bool:
    """Whether the contract's frame asked an authority view or a signature check."""
    for inner in visits(entry.frame):
        if inner.path and succeeded(inner.frame) and inner.frame.selector in AUTHORITY_VIEWS:
            return True
        if inner.path and lower(inner.frame.to) == ECRECOVER:
            return True
    return False


def _caller(visit: Visit) -> str:
    return context_of(visit.ancestors[-1][1]) if visit.ancestors else lower(visit.frame.from_)


def _direct_entries(result: ReplayResult, attackers: set[str]) -> dict[str, list[Visit]]:
    """Per contract, its frames the attacker side called directly (state-changing)."""
    entries: dict[str, list[Visit]] = {}
    for visit in visits(result.trace):
        frame = visit.frame
        if frame.type != "CALL" or visit.static or not succeeded(frame):
            continue
        target = context_of(frame)
        if _caller(visit) in attackers and target not in attackers:
            entries.setdefault(target, []).append(visit)
    return entries


def _address_of(word: int) -> str:
    return "0x" + f"{word & _ADDRESS_MASK:040x}"


def _slot_effects(
    result: ReplayResult, contract: str, entries: list[Visit], attackers: set[str], fresh: set[str]
) -> list[tuple[str, SlotChange, Severity]]:
    effects: list[tuple[str, SlotChange, Severity]] = []
    named = any(
        entry.frame.decoded and _PRIVILEGED_NAME.match(entry.frame.decoded.name)
        for entry in entries
    )
    pre = {lower(a): s for a, s in result.state_diff.pre.items()}.get(contract)
    post = {lower(a): s for a, s in result.state_diff.post.items()}.get(contract)
    if post is None:
        return effects
    reads = views_read(result, contract)
    for slot, after_word in post.storage.items():
        before_word = pre.storage.get(slot, "0x0") if pre else "0x0"
        before, after = int(before_word, 16), int(after_word, 16)
        change = SlotChange(address=contract, slot=slot, before=before_word, after=after_word)
        new = _address_of(after)
        proxy_slot = EIP1967_SLOTS.get(f"0x{int(slot, 16):064x}")
        # Re-pointing at code the attacker side deployed is the attack; at anything else, it may
        # be a governed upgrade whose role check read an unchanged (invisible) slot: "low".
        if proxy_slot:
            severity: Severity = "critical" if new in fresh else "low"
            effects.append((f"EIP-1967 {proxy_slot} slot re-pointed to {new}", change, severity))
        elif new in attackers and new not in reads:
            continue  # the caller made itself the owner: a role takeover (access_control)
        elif int(slot, 16) < _PLAIN_SLOTS and _address_word(before) and _address_word(after):
            severity = "high" if new in fresh else "low"
            effects.append((f"address state variable (slot {slot}) set to {new}", change, severity))
        elif int(slot, 16) < _PLAIN_SLOTS and named:
            effects.append((f"state variable (slot {slot}) changed", change, "low"))
    return effects


def detect(result: ReplayResult, findings: list[Finding]) -> list[Finding]:
    """One finding per contract whose privileged effect an arbitrary caller reached."""
    attackers = set(attacker_addresses(result))
    fresh = created_in_tx(result) | attackers
    entries = _direct_entries(result, attackers)
    found: list[Finding] = []
    payouts = {item.contract: item for item in extractions(result)}
    mints = _mints(result, attackers)
    created = created_in_tx(result)
    for contract in dict.fromkeys([*entries, *payouts, *mints]):
        if explaining(findings, contract) is not None or contract == ZERO:
            continue
        visits_in = entries.get(contract, [])
        if not visits_in or any(_role_checked(entry) for entry in visits_in):
            continue
        callers = list(dict.fromkeys(_caller(entry) for entry in visits_in))
        if any(held_address(result, contract, caller) for caller in callers):
            continue
        effects: list[str] = []
        severities: list[Severity] = []
        storage: list[SlotChange] = []
        amounts: list[Amount] = []
        payout = payouts.get(contract)
        if payout and payout.suspicious:
            effects.append("paid out value the caller never deposited")
            severities.append(severity_for_loss(result, contract))
            amounts += [
                Amount(address=contract, asset=a, amount=v) for a, v in payout.taken.items()
            ]
        minted = mints.get(contract)
        if minted:
            effects.append(f"minted {minted} base units to the caller, who paid nothing for them")
            severities.append(_victims_severity(result))
        for text, change, severity in _slot_effects(result, contract, visits_in, attackers, fresh):
            effects.append(text)
            severities.append(severity)
            storage.append(change)
        if not effects:
            continue
        severity = min(severities, key=SEVERITY_ORDER.index)
        signals = [
            *effects,
            f"called directly by {', '.join(callers)}, an attacker-side account",
            "no role check on the path: the caller's address was in none of the contract's "
            "changed storage words before the tx, and no authority view or signature check ran",
        ]
        if any(caller in created for caller in callers):
            signals.append("the caller was created in this transaction (it can hold no role)")
        found.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.MISSING_ACCESS_CONTROL,
                severity=severity,
                confidence=confidence_from(len(signals) - 2),
                title=f"Privileged effect on {contract} reached by an arbitrary caller",
                explanation=(
                    f"{', '.join(callers)} called {contract} directly and it "
                    + "; ".join(effects)
                    + ", with no role check on the path."
                ),
                recommendation=(
                    "Gate every function that moves funds it does not owe the caller, mints, "
                    "upgrades, pauses or sets parameters with a role check (onlyOwner / "
                    "AccessControl), and test that an arbitrary account is rejected."
                ),
                evidence=Evidence(
                    frames=[path_text(entry.path) for entry in visits_in[:10]],
                    addresses=[contract, *callers],
                    selectors=sorted({e.frame.selector for e in visits_in if e.frame.selector}),
                    storage=storage,
                    amounts=amounts,
                    signals=signals,
                ),
            )
        )
    return found


def _mints(result: ReplayResult, attackers: set[str]) -> dict[str, int]:
    """Fungible tokens minted to the attacker side, per token, when it paid nothing to the token
    nor to a contract whose frame minted them (shares a staking contract mints for a deposit)."""
    paid_to = {lower(t.to) for t in result.token_transfers if lower(t.from_) in attackers}
    minted: dict[str, int] = {}
    for visit in visits(result.trace):
        if not succeeded(visit.frame):
            continue
        for log in visit.frame.logs:
            moved = erc20_transfer(log)
            if moved is None or moved[0] != ZERO or moved[1] not in attackers:
                continue
            token = lower(log.address)
            minters = {context_of(frame) for _, frame in visit.ancestors} | {token}
            if not minters & paid_to:
                minted[token] = minted.get(token, 0) + moved[2]
    return minted


def _victims_severity(result: ReplayResult) -> Severity:
    """The worst loss anyone outside the attacker side took ("low" when nobody lost)."""
    report = profit_report(result)
    ranks: list[Severity] = [severity_for_loss(result, row.address) for row in report.losses]
    return min(ranks, key=SEVERITY_ORDER.index, default="low")
