"""Arbitrary external call: a contract that holds users' token approvals (an aggregator, bridge or
router) is made to call `token.transferFrom(user, attacker, amount)` with calldata its caller
supplied, so anyone can spend the allowances users gave it (Transit Swap 2022, Dexible 2023,
LI.FI 2024, Socket/Bungee 2024; Multichain 2022's forged `permit` is the same theft).

A pull is a successful `transferFrom(from, to, amount)` (ERC-20 and ERC-721, selector
0x23b872dd) or ERC-721 `safeTransferFrom` made by a contract C (the spender) where `from` is not
the tx sender, not C, not an attacker-side address, and never took part in the transaction (no
frame from or to it): somebody else's allowance was spent on somebody else's behalf. A spender
that is the tx sender itself (an EOA using the allowance it was given) is never reported.

Signals: the calldata C sent to the token appears verbatim inside the calldata C received
(the call was supplied by C's caller), or a `permit` for `from` preceded the pull without
emitting an Approval (a forged permit); the tokens went to the attacker side; the `from`
addresses lost value; several pulls. Severity comes from the victims' losses only when calldata
was injected or the permit forged and no signature was verified on the way (C or a non-attacker
caller calling ecrecover or ERC-1271 `isValidSignature` before the pull, or a genuine permit:
order books, Permit2 and Safe wallets spend third-party allowances that way); otherwise "low".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.analysis import evidence
from timemachine.analysis.profit import attacker_addresses
from timemachine.models.analysis import Amount, Evidence, Finding, Severity, severity_rank
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

NAME = "arbitrary_call"

#: Selectors of the calls that move tokens out of `from` on a spender's allowance.
PULLS = {
    "0x23b872dd": "transferFrom(address,address,uint256)",
    "0x42842e0e": "safeTransferFrom(address,address,uint256)",
    "0xb88d4fde": "safeTransferFrom(address,address,uint256,bytes)",
}
PERMIT = "0xd505accf"
"""EIP-2612 permit(address,uint256,uint256,uint8,bytes32,bytes32)."""
IS_VALID_SIGNATURE = "0x1626ba7e"
"""ERC-1271 isValidSignature(bytes32,bytes)."""
APPROVAL_TOPIC = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"


@dataclass(frozen=True)
class _Pull:
    path: tuple[int, ...]
    selector: str
    token: str
    owner: str
    recipient: str
    amount: int
    caller: str
    """Who called the spender (the frame that handed it the calldata)."""
    injected: bool
    forged_permit: bool
    authorized: bool


@dataclass
class _Spender:
    pulls: list[_Pull] = field(default_factory=list)


def _address_word(word: str) -> str | None:
    if len(word) != 64 or word[:24] != "0" * 24:
        return None
    return "0x" + word[24:]


def _pull_args(frame: CallFrame) -> tuple[str, str, int] | None:
    """(from, to, amount or token id) of a pull's calldata; None when it is not well-formed."""
    data = frame.input[10:].lower()
    if len(data) < 192:
        return None
    owner, recipient = _address_word(data[:64]), _address_word(data[64:128])
    if owner is None or recipient is None:
        return None
    try:
        amount = int(data[128:192], 16)
    except ValueError:
        return None
    return owner, recipient, amount


def _participants(root: CallFrame) -> set[str]:
    """Every address a frame came from or went to."""
    return {
        evidence.lower(address) for _, frame in root.walk() for address in (frame.from_, frame.to)
    }


def _permits(
    frames: list[evidence.Visit], spender: str, token: str, owner: str
) -> tuple[bool, bool]:
    """(genuine, forged): whether `spender` called `token.permit(owner, ...)` earlier, emitting
    an Approval for `owner` (genuine) or not (forged: e.g. a token whose fallback accepts it)."""
    genuine = forged = False
    for visit in frames:
        frame = visit.frame
        if (
            frame.selector != PERMIT
            or evidence.lower(frame.from_) != spender
            or evidence.lower(frame.to) != token
        ):
            continue
        if _address_word(frame.input[10:74].lower()) != owner or not evidence.succeeded(frame):
            continue
        approved = any(
            log.topics
            and log.topics[0].lower() == APPROVAL_TOPIC
            and len(log.topics) > 1
            and _address_word(log.topics[1][2:].lower()) == owner
            for log in frame.logs
        )
        genuine, forged = genuine or approved, forged or not approved
    return genuine, forged


def _verified_signature(frames: list[evidence.Visit], verifiers: set[str]) -> bool:
    """Whether one of `verifiers` checked a signature (ecrecover, ERC-1271) in `frames`."""
    for visit in frames:
        frame = visit.frame
        checks = (
            evidence.lower(frame.to) == evidence.ECRECOVER or frame.selector == IS_VALID_SIGNATURE
        )
        if checks and evidence.succeeded(frame) and evidence.lower(frame.from_) in verifiers:
            return True
    return False


def _pulls(result: ReplayResult) -> dict[str, _Spender]:
    attackers = set(attacker_addresses(result))
    sender = evidence.lower(result.sender)
    participants = _participants(result.trace)
    earlier: list[evidence.Visit] = []
    spenders: dict[str, _Spender] = {}
    for visit in evidence.visits(result.trace):
        frame = visit.frame
        earlier.append(visit)
        if frame.selector not in PULLS or frame.type != "CALL" or not visit.ancestors:
            continue
        if not evidence.succeeded(frame) or not all(
            evidence.succeeded(outer) for _, outer in visit.ancestors
        ):
            continue
        args = _pull_args(frame)
        spender, token = evidence.lower(frame.from_), evidence.lower(frame.to)
        if args is None or spender == sender:
            continue
        owner, recipient, amount = args
        if owner in (sender, spender) or owner in attackers or owner in participants:
            continue
        _, parent = visit.ancestors[-1]
        calldata = frame.input[2:].lower()
        outer_input = parent.input.lower()
        injected = len(outer_input) > len(calldata) + 10 and calldata in outer_input[10:]
        genuine, forged = _permits(earlier, spender, token, owner)
        callers = {evidence.lower(outer.from_) for _, outer in visit.ancestors} - attackers
        authorized = genuine or _verified_signature(earlier, {spender} | callers)
        spenders.setdefault(spender, _Spender()).pulls.append(
            _Pull(
                path=visit.path,
                selector=frame.input[:10].lower(),
                token=token,
                owner=owner,
                recipient=recipient,
                amount=amount,
                caller=evidence.lower(parent.from_),
                injected=injected,
                forged_permit=forged,
                authorized=authorized,
            )
        )
    return spenders


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per spender contract whose allowances were spent for third parties."""
    attackers = set(attacker_addresses(result))
    findings: list[Finding] = []
    for spender, record in _pulls(result).items():
        pulls = record.pulls
        owners = list(dict.fromkeys(pull.owner for pull in pulls))
        losses = {owner: evidence.losses_of(result, owner) for owner in owners}
        victims = [owner for owner in owners if losses[owner]]
        injected = [pull for pull in pulls if pull.injected]
        forged = [pull for pull in pulls if pull.forged_permit]
        authorized = any(pull.authorized for pull in pulls)
        to_attackers = all(pull.recipient in attackers for pull in pulls)

        signals = [
            f"{spender} spent the allowances of {len(owners)} address(es) that took no part in "
            f"the transaction ({len(pulls)} pull(s))"
        ]
        if injected:
            signals.append(
                f"the transferFrom calldata of {len(injected)} pull(s) appears verbatim in the "
                f"calldata {spender} received from {injected[0].caller} (caller-supplied call)"
            )
        if forged:
            signals.append(f"{len(forged)} pull(s) followed a permit that emitted no Approval")
        if to_attackers:
            signals.append("every pulled token went to the attacker side")
        if victims:
            signals.append(f"{len(victims)} of the drained addresses lost value")
        if len(pulls) > 1:
            signals.append(f"{len(pulls)} pulls in one transaction")

        severity: Severity = "info"
        if victims and (injected or forged) and not authorized:
            severity = min(
                (evidence.severity_for_loss(result, victim) for victim in victims),
                key=severity_rank,
            )
        elif victims and to_attackers and not authorized:
            severity = "low"
        confidence = evidence.confidence_from(len(signals) - 1)
        if authorized:
            signals.append("a signature was verified before the pull (an authorized spend)")
        findings.append(
            _finding(spender, pulls, owners, (victims, losses), (severity, confidence), signals)
        )
    return findings


def _finding(
    spender: str,
    pulls: list[_Pull],
    owners: list[str],
    damage: tuple[list[str], dict[str, dict[str, int]]],
    rating: tuple[Severity, float],
    signals: list[str],
) -> Finding:
    victims, losses = damage
    severity, confidence = rating
    lost = [
        Amount(address=victim, asset=asset, amount=amount)
        for victim in victims
        for asset, amount in losses[victim].items()
    ]
    totals: dict[str, int] = {}
    for amount in lost:
        totals[amount.asset] = totals.get(amount.asset, 0) + amount.amount
    total_text = evidence.amounts_text(totals)
    recipients = sorted({pull.recipient for pull in pulls})
    return Finding(
        detector=NAME,
        vulnerability_class=VulnerabilityClass.ARBITRARY_CALL,
        severity=severity,
        confidence=confidence,
        title=f"{spender} spent {len(owners)} bystander(s)' token approvals",
        explanation=(
            f"{spender} called transferFrom {len(pulls)} time(s) moving tokens out of "
            f"{len(owners)} address(es) that approved it but took no part in this transaction, "
            f"to {', '.join(recipients)}. "
            + (
                f"The victims lost {total_text}. "
                if lost
                else "The drained addresses lost nothing over the transaction. "
            )
            + "When the transferFrom calldata is found inside the calldata the contract "
            "received, the contract executes calls its caller chooses, so anyone can spend "
            "every allowance it holds."
        ),
        recommendation=(
            "Never make an arbitrary call from a contract that holds user approvals: allowlist "
            "the call targets and selectors (never a token's transferFrom/permit), or run "
            "caller-supplied calls from a separate executor that holds no approvals; pull only "
            "from msg.sender. Users should revoke approvals given to the contract."
        ),
        evidence=Evidence(
            frames=[evidence.path_text(pull.path) for pull in pulls],
            addresses=[spender, *owners],
            selectors=sorted({pull.selector for pull in pulls}),
            amounts=[
                *lost,
                *(
                    Amount(address=pull.recipient, asset=pull.token, amount=pull.amount)
                    for pull in pulls
                ),
            ],
            signals=signals,
        ),
    )
