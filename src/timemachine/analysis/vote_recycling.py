"""Vote recycling, a governance takeover without any Governor event: a contract weighed callers'
votes by their *current* token balance, the same tokens moved from one weighed voter to the next
within the transaction, and the contract then paid value out in that same transaction.

Signals, from the call tree alone: in a state-changing call from account C into contract X, X
reads `balanceOf(C)` / `getVotes(C)` of token T (the vote's weight, no snapshot); after that
weighing, T moves (a Transfer log) out of C, and X later weighs another caller holding a balance.
Counting one balance for several voters is reported when X lost value in the transaction (the
execution it enabled) outside the weighing calls, with severity from that loss (a weighing call
that itself pays out is a redemption, left to reentrancy). Honest voters each weighed once, or votes
with no payout in the same transaction, raise nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from timemachine.analysis import evidence
from timemachine.analysis.governance import CURRENT_READS
from timemachine.analysis.token_moves import erc20_transfer
from timemachine.models.analysis import Amount, Evidence, Finding
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

NAME = "vote_recycling"


@dataclass(frozen=True)
class _Weighing:
    contract: str
    token: str
    voter: str
    balance: int
    path: tuple[int, ...]
    paid: bool
    """The weighing call itself moved value out of the contract (a redemption, not a vote)."""


def _argument_address(data: str) -> str | None:
    digits = data[10:] if data.startswith("0x") else data[8:]
    return "0x" + digits[24:64].lower() if len(digits) >= 64 else None


def _events(result: ReplayResult) -> list[_Weighing | tuple[str, str, str]]:
    """Weighings and ERC-20 moves (token, from, to), in execution order."""
    events: list[_Weighing | tuple[str, str, str]] = []
    for visit in evidence.visits(result.trace):
        frame = visit.frame
        if not evidence.succeeded(frame):
            continue
        if (
            frame.type == "STATICCALL"
            and frame.selector in CURRENT_READS
            and len(visit.ancestors) >= 2
        ):
            weigher_path, weigher = visit.ancestors[-1]
            _, outer = visit.ancestors[-2]
            voter = evidence.context_of(outer)
            contract = evidence.context_of(weigher)
            state_changing = weigher.type == "CALL" and not any(
                ancestor.type == "STATICCALL" for _, ancestor in visit.ancestors
            )
            output = frame.output or "0x"
            if (
                state_changing
                and _argument_address(frame.input) == voter
                and contract not in (voter, evidence.lower(frame.to))
                and len(output) >= 66
            ):
                paid = bool(
                    evidence.outflows_from(weigher, contract)
                    or evidence.token_outflows(weigher, contract)
                )
                balance = int(output[2:66], 16)
                events.append(
                    _Weighing(
                        contract, evidence.lower(frame.to), voter, balance, weigher_path, paid
                    )
                )
        for log in frame.logs:
            moved = erc20_transfer(log)
            if moved is not None and moved[2] > 0:
                events.append((evidence.lower(log.address), moved[0], moved[1]))
    return events


def _recycled(events: list[_Weighing | tuple[str, str, str]]) -> dict[str, list[_Weighing]]:
    """Per contract, its weighings once a weighed voter's tokens moved on to a later voter."""
    weighed: dict[tuple[str, str], list[_Weighing]] = {}
    moved_on: set[tuple[str, str]] = set()
    found: dict[str, list[_Weighing]] = {}
    for event in events:
        if isinstance(event, tuple):
            token, source, _ = event
            for contract, weighed_token in weighed:
                if weighed_token == token and any(
                    w.voter == source for w in weighed[contract, token]
                ):
                    moved_on.add((contract, token))
            continue
        key = (event.contract, event.token)
        earlier = weighed.setdefault(key, [])
        if key in moved_on and event.balance and all(w.voter != event.voter for w in earlier):
            found[event.contract] = [*earlier, event]
        earlier.append(event)
    return found


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per contract that counted the same tokens for several voters and paid out."""
    findings: list[Finding] = []
    for contract, weighings in _recycled(_events(result)).items():
        lost = evidence.losses_of(result, contract)
        if not lost or any(w.paid for w in weighings):
            continue  # nothing paid out, or paid per weighing: redemptions (reentrancy's field)
        token = weighings[0].token
        voters = list(dict.fromkeys(w.voter for w in weighings))
        signals = [
            f"{contract} weighed {len(voters)} voters by their current {token} balance "
            "(balanceOf/getVotes, no snapshot) in state-changing calls",
            f"{token} moved out of a voter after it was weighed, to be weighed again for another",
            f"{contract} lost {evidence.amounts_text(lost)} in the same transaction",
        ]
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.GOVERNANCE_TAKEOVER,
                severity=evidence.severity_for_loss(result, contract),
                confidence=evidence.confidence_from(len(signals)),
                title=f"Votes recycled through {len(voters)} voters in {contract}",
                explanation=(
                    f"{contract} counted each caller's current {token} balance as its vote, and "
                    f"the same tokens passed from voter to voter ({', '.join(voters)}) within "
                    f"the transaction, then {contract} paid out {evidence.amounts_text(lost)}."
                ),
                recommendation=(
                    "Weigh votes with a snapshot taken before the proposal (getPastVotes at the "
                    "proposal's snapshot block, ERC20Votes) and delay execution past the vote."
                ),
                evidence=Evidence(
                    frames=[evidence.path_text(w.path) for w in weighings[:10]],
                    addresses=[contract, token, *voters],
                    amounts=[Amount(address=contract, asset=a, amount=v) for a, v in lost.items()],
                    signals=signals,
                ),
            )
        )
    return findings
