"""Governance takeover: a proposal voted with voting power borrowed for the transaction and
executed in the same transaction (Beanstalk, April 2022), moving the treasury to the voter's side.

Keyed on the Governor events (OpenZeppelin Governor / Compound GovernorBravo `VoteCast` and
`VoteCastWithParams`, GovernorAlpha `VoteCast`, Beanstalk `Vote`; `ProposalExecuted`, Beanstalk
`Commit`) and on behaviour:

- a vote for a proposal and the execution of that proposal in the same transaction (required);
- the voter received the voting token in this transaction just before the vote (a flash loan or
  flash swap) and sent it back afterwards;
- the governor weighed the vote with the voter's current balance (`balanceOf`/`getVotes`), not a
  snapshot (`getPastVotes`/`getPriorVotes`);
- the execution moved value out of the treasury to the voter's side.

Severity comes from what the treasury lost. Honest votes (tokens held before the transaction, no
execution) and honest executions (no vote in the transaction) raise nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.analysis import evidence
from timemachine.analysis.profit import attacker_addresses
from timemachine.models.analysis import Amount, Evidence, Finding, Severity, severity_rank
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame, LogEntry
from timemachine.trace.signatures import keccak_signature

NAME = "governance"

#: OpenZeppelin Governor and Compound GovernorBravo (voter indexed; proposalId, support, weight).
VOTE_CAST = keccak_signature("VoteCast(address,uint256,uint8,uint256,string)")
VOTE_CAST_WITH_PARAMS = keccak_signature(
    "VoteCastWithParams(address,uint256,uint8,uint256,string,bytes)"
)
#: Compound GovernorAlpha (nothing indexed; voter, proposalId, support, votes).
VOTE_CAST_ALPHA = keccak_signature("VoteCast(address,uint256,bool,uint256)")
#: Beanstalk GovernanceFacet (account and bip indexed; roots).
BEANSTALK_VOTE = keccak_signature("Vote(address,uint32,uint256)")
PROPOSAL_EXECUTED = keccak_signature("ProposalExecuted(uint256)")
BEANSTALK_COMMIT = keccak_signature("Commit(address,uint32)")
TRANSFER = keccak_signature("Transfer(address,address,uint256)")

#: Voting-power reads of the current balance (the flaw) and of a past snapshot.
CURRENT_READS = {
    keccak_signature(signature)[:10]: signature
    for signature in ("balanceOf(address)", "getVotes(address)", "getCurrentVotes(address)")
}
SNAPSHOT_READS = {
    keccak_signature(signature)[:10]: signature
    for signature in ("getPastVotes(address,uint256)", "getPriorVotes(address,uint256)")
}

FOR = 1


@dataclass(frozen=True)
class _Log:
    order: int
    log: LogEntry
    path: tuple[int, ...]
    frame: CallFrame


@dataclass(frozen=True)
class _Vote:
    governor: str
    voter: str
    proposal: int
    support: int
    weight: int
    at: _Log


@dataclass(frozen=True)
class _Execution:
    governor: str
    proposal: int
    at: _Log


@dataclass
class _Case:
    """Everything found about one proposal voted for in this transaction."""

    governor: str
    proposal: int
    votes: list[_Vote] = field(default_factory=list)
    execution: _Execution | None = None
    signals: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    selectors: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    borrowed: bool = False
    acquired: bool = False
    paid_voter_side: bool = False
    amounts: list[Amount] = field(default_factory=list)
    treasuries: list[str] = field(default_factory=list)


def _words(data: str) -> list[int]:
    raw = data[2:] if data.startswith("0x") else data
    return [int(raw[i : i + 64], 16) for i in range(0, len(raw) - 63, 64)]


def _address(word: int | str) -> str:
    text = f"{word:064x}" if isinstance(word, int) else word[-40:]
    return "0x" + text[-40:].lower()


def _ordered_logs(root: CallFrame) -> list[_Log]:
    """The logs of frames that did not revert, in emission order (log index when known)."""
    found: list[_Log] = []
    walk_order = 0
    failed: set[tuple[int, ...]] = set()
    for visit in evidence.visits(root):
        if visit.frame.error is not None or (visit.path and visit.path[:-1] in failed):
            failed.add(visit.path)
            continue
        for log in visit.frame.logs:
            found.append(_Log(walk_order, log, visit.path, visit.frame))
            walk_order += 1
    if found and all(entry.log.index is not None for entry in found):
        return sorted(
            (_Log(entry.log.index or 0, entry.log, entry.path, entry.frame) for entry in found),
            key=lambda entry: entry.order,
        )
    return found


def _vote(entry: _Log) -> _Vote | None:
    topics, log = [evidence.lower(topic) for topic in entry.log.topics], entry.log
    if not topics:
        return None
    words = _words(log.data)
    governor = evidence.lower(log.address)
    try:
        if topics[0] in (VOTE_CAST, VOTE_CAST_WITH_PARAMS) and len(topics) == 2:
            return _Vote(governor, _address(topics[1]), words[0], words[1], words[2], entry)
        if topics[0] == VOTE_CAST_ALPHA and len(topics) == 1:
            return _Vote(governor, _address(words[0]), words[1], words[2], words[3], entry)
        if topics[0] == BEANSTALK_VOTE and len(topics) == 3:
            return _Vote(governor, _address(topics[1]), int(topics[2], 16), FOR, words[0], entry)
    except (IndexError, ValueError):
        return None
    return None


def _execution(entry: _Log) -> _Execution | None:
    topics, log = [evidence.lower(topic) for topic in entry.log.topics], entry.log
    if not topics:
        return None
    try:
        if topics[0] == PROPOSAL_EXECUTED and len(topics) == 1:
            return _Execution(evidence.lower(log.address), _words(log.data)[0], entry)
        if topics[0] == BEANSTALK_COMMIT and len(topics) == 3:
            return _Execution(evidence.lower(log.address), int(topics[2], 16), entry)
    except (IndexError, ValueError):
        return None
    return None


def _transfer(entry: _Log) -> tuple[str, str, str, int] | None:
    """(token, from, to, amount) of an ERC-20 Transfer log."""
    topics = [evidence.lower(topic) for topic in entry.log.topics]
    if len(topics) != 3 or topics[0] != TRANSFER:
        return None
    words = _words(entry.log.data)
    if len(words) != 1:
        return None
    return evidence.lower(entry.log.address), _address(topics[1]), _address(topics[2]), words[0]


def _frame_at(root: CallFrame, path: tuple[int, ...]) -> evidence.Visit:
    ancestors: list[tuple[tuple[int, ...], CallFrame]] = []
    frame = root
    for depth, index in enumerate(path):
        ancestors.append((path[:depth], frame))
        frame = frame.calls[index]
    return evidence.Visit(path, frame, tuple(ancestors))


def _voting_reads(vote: _Vote, frame: CallFrame) -> tuple[set[str], bool, bool]:
    """Tokens the vote frame read the voter's voting power from; whether it read the current
    balance, and whether it read a past snapshot."""
    tokens: set[str] = set()
    current = snapshot = False
    for visit in evidence.visits(frame):
        inner = visit.frame
        selector = inner.selector
        if not visit.path or selector is None or len(inner.input) < 74:
            continue
        if _address(inner.input[10:74]) != vote.voter:
            continue
        if selector in CURRENT_READS:
            current = True
            tokens.add(evidence.lower(inner.to))
        elif selector in SNAPSHOT_READS:
            snapshot = True
            tokens.add(evidence.lower(inner.to))
    return tokens, current, snapshot


def _borrowing(case: _Case, vote: _Vote, logs: list[_Log], tokens: set[str]) -> None:
    """Voting tokens that reached the voter in this tx before the vote and went back afterwards."""
    received: dict[tuple[str, str], int] = {}
    for entry in logs:
        moved = _transfer(entry)
        if entry.order >= vote.at.order or moved is None:
            continue
        token, source, target, amount = moved
        voting = token in tokens or (not tokens and amount * 2 >= vote.weight > 0)
        if target == vote.voter and source != vote.voter and voting and amount:
            received[token, source] = received.get((token, source), 0) + amount
            case.frames.append(evidence.path_text(entry.path))
    if not received:
        return
    case.acquired = True
    for (token, source), amount in received.items():
        case.tokens.append(token)
        case.signals.append(
            f"the voter {vote.voter} received {evidence.amount_text(token, amount)} from {source} "
            "in this transaction just before voting"
        )
        returned = 0
        for entry in logs:
            moved = _transfer(entry)
            if entry.order <= vote.at.order or moved is None:
                continue
            if moved[0] == token and moved[1] == vote.voter and moved[2] == source:
                returned += moved[3]
                case.frames.append(evidence.path_text(entry.path))
        if returned >= amount:
            case.borrowed = True
            case.signals.append(
                f"after the vote {evidence.amount_text(token, returned)} went back from the voter "
                f"to {source}: the voting power was borrowed for the transaction"
            )


def _outflows(case: _Case, result: ReplayResult, execution: _Execution, side: set[str]) -> None:
    """Value the execution moved out of the treasury; whether any of it reached the voter's side."""
    root = _frame_at(result.trace, execution.at.path)
    movers: list[str] = []
    for visit in evidence.visits(root.frame):
        inner = visit.frame
        if inner.error is not None:
            continue
        if inner.value > 0 and inner.type not in ("DELEGATECALL", "STATICCALL"):
            movers.append(evidence.lower(inner.from_))
            case.amounts.append(
                Amount(address=evidence.lower(inner.to), asset="ETH", amount=inner.value)
            )
            case.frames.append(evidence.path_text((*execution.at.path, *visit.path)))
            case.paid_voter_side |= evidence.lower(inner.to) in side
        for log in inner.logs:
            moved = _transfer(_Log(0, log, visit.path, inner))
            if moved is None:
                continue
            token, source, target, amount = moved
            movers.append(source)
            case.amounts.append(Amount(address=target, asset=token, amount=amount))
            case.frames.append(evidence.path_text((*execution.at.path, *visit.path)))
            case.paid_voter_side |= target in side
    for mover in dict.fromkeys([execution.governor, *movers]):
        if mover not in side and evidence.losses_of(result, mover):
            case.treasuries.append(mover)


def _cases(result: ReplayResult) -> list[_Case]:
    logs = _ordered_logs(result.trace)
    votes = [vote for entry in logs if (vote := _vote(entry)) is not None]
    executions = [done for entry in logs if (done := _execution(entry)) is not None]
    cases: dict[tuple[str, int], _Case] = {}
    for vote in votes:
        if vote.support != FOR:
            continue
        case = cases.setdefault((vote.governor, vote.proposal), _Case(vote.governor, vote.proposal))
        case.votes.append(vote)
    side = set(attacker_addresses(result))
    for (governor, proposal), case in cases.items():
        first = min(vote.at.order for vote in case.votes)
        case.execution = next(
            (
                done
                for done in executions
                if (done.governor, done.proposal) == (governor, proposal) and done.at.order > first
            ),
            None,
        )
        side |= {vote.voter for vote in case.votes}
    for case in cases.values():
        _examine(case, result, logs, side)
    return list(cases.values())


def _examine(case: _Case, result: ReplayResult, logs: list[_Log], side: set[str]) -> None:
    for vote in case.votes:
        visit = _frame_at(result.trace, vote.at.path)
        case.frames.append(evidence.path_text(vote.at.path))
        if visit.frame.selector:
            case.selectors.append(visit.frame.selector)
        tokens, current, snapshot = _voting_reads(vote, visit.frame)
        if current and not snapshot:
            case.signals.append(
                f"the governor weighed {vote.voter}'s vote ({vote.weight}) with its current "
                "token balance, not a snapshot taken before the proposal"
            )
        _borrowing(case, vote, logs, tokens)
    if case.execution is None:
        return
    execution = case.execution
    case.frames.append(evidence.path_text(execution.at.path))
    if execution.at.frame.selector:
        case.selectors.append(execution.at.frame.selector)
    case.signals.insert(
        0,
        f"proposal {case.proposal} of governor {case.governor} was voted for and executed in "
        "the same transaction",
    )
    _outflows(case, result, execution, side)
    if case.paid_voter_side:
        case.signals.append("the execution moved value out of the treasury to the voter's side")
    for treasury in case.treasuries:
        lost = evidence.losses_of(result, treasury)
        case.signals.append(f"the treasury {treasury} lost " + evidence.amounts_text(lost))


def _severity(case: _Case, result: ReplayResult) -> Severity:
    if case.execution is not None and (case.borrowed or case.acquired or case.paid_voter_side):
        worst: Severity = "low"
        for treasury in case.treasuries:
            severity = evidence.severity_for_loss(result, treasury)
            if severity_rank(severity) < severity_rank(worst):
                worst = severity
        return worst
    if case.execution is not None:
        return "low"
    if case.borrowed:
        return "medium"
    return "low" if case.acquired else "info"


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per proposal voted for with borrowed power or executed in the same tx."""
    findings: list[Finding] = []
    for case in _cases(result):
        if case.execution is None and not case.acquired:
            continue
        severity = _severity(case, result)
        voters = list(dict.fromkeys(vote.voter for vote in case.votes))
        weight = sum(vote.weight for vote in case.votes)
        lost = [
            Amount(address=treasury, asset=asset, amount=amount)
            for treasury in case.treasuries
            for asset, amount in evidence.losses_of(result, treasury).items()
        ]
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.GOVERNANCE_TAKEOVER,
                severity=severity,
                confidence=evidence.confidence_from(len(case.signals) - 1),
                title=_title(case),
                explanation=_explanation(case, voters, weight, lost),
                recommendation=(
                    "Weigh votes with a snapshot taken before the proposal (ERC20Votes "
                    "checkpoints and getPastVotes at the proposal's start block), never with "
                    "current balances; require a voting delay and a timelock between the vote "
                    "and execution, and remove instant-execution paths such as emergencyCommit."
                ),
                evidence=Evidence(
                    frames=list(dict.fromkeys(case.frames)),
                    addresses=list(
                        dict.fromkeys([case.governor, *voters, *case.treasuries, *case.tokens])
                    ),
                    selectors=list(dict.fromkeys(case.selectors)),
                    amounts=[*lost, *case.amounts],
                    signals=case.signals,
                ),
            )
        )
    return findings


def _title(case: _Case) -> str:
    proposal = _short(case.proposal)
    if case.execution is None:
        return f"Vote on proposal {proposal} cast with tokens acquired in the same transaction"
    how = "with borrowed voting power " if case.borrowed or case.acquired else ""
    return f"Proposal {proposal} voted {how}and executed in one transaction on {case.governor}"


def _short(proposal: int) -> str:
    text = str(proposal)
    return text if len(text) <= 12 else f"{text[:6]}…{text[-4:]}"


def _explanation(case: _Case, voters: list[str], weight: int, lost: list[Amount]) -> str:
    voted = f"{', '.join(voters)} voted for proposal {case.proposal} with {weight} votes"
    if case.borrowed:
        voted += " using governance tokens received earlier in this transaction and returned later"
    elif case.acquired:
        voted += " using governance tokens received earlier in this transaction"
    if case.execution is None:
        return voted + "; the proposal was not executed in this transaction."
    taken = "; ".join(evidence.amount_text(amount.asset, amount.amount) for amount in lost)
    text = f"{voted}, and the proposal was executed in the same transaction."
    if taken:
        text += f" The execution took {taken} from the treasury"
        text += " to the voter's side." if case.paid_voter_side else "."
    return text + (
        " Voting power that can be borrowed for one transaction lets anyone pass and execute "
        "any proposal."
        if case.borrowed or case.acquired
        else ""
    )
