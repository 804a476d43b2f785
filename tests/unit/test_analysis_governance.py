"""The governance-takeover detector on hand-built call trees."""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, OTHER, VICTIM, call, result
from timemachine.analysis import governance
from timemachine.models import BalanceChange, ReplayResult
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame, LogEntry
from timemachine.trace.signatures import keccak_signature

GOVERNOR = VICTIM
TOKEN = "0x00000000000000000000000000000000000000d0"
USDX = "0x00000000000000000000000000000000000000d6"
LENDER = "0x00000000000000000000000000000000000000f1"
PROPOSAL = 42
BORROWED = 700 * ETHER
CAST_VOTE = keccak_signature("castVote(uint256,uint8)")[:10]
EMERGENCY = keccak_signature("emergencyCommit(uint256)")[:10]
EXECUTE = keccak_signature("execute(uint256)")[:10]
BALANCE_OF = keccak_signature("balanceOf(address)")[:10]
PAST_VOTES = keccak_signature("getPastVotes(address,uint256)")[:10]


def topic(address: str) -> str:
    return "0x" + address[2:].rjust(64, "0")


def event(emitter: str, signature: str, index: int, *, indexed: list[str], data: bytes) -> LogEntry:
    return LogEntry(
        address=emitter,
        topics=[keccak_signature(signature), *indexed],
        data="0x" + data.hex(),
        index=index,
    )


def transfer(token: str, source: str, target: str, amount: int, index: int) -> LogEntry:
    data = abi_encode(["uint256"], [amount])
    indexed = [topic(source), topic(target)]
    return event(token, "Transfer(address,address,uint256)", index, indexed=indexed, data=data)


def vote_cast(voter: str, weight: int, index: int, support: int = 1) -> LogEntry:
    data = abi_encode(["uint256", "uint8", "uint256", "string"], [PROPOSAL, support, weight, ""])
    signature = "VoteCast(address,uint256,uint8,uint256,string)"
    return event(GOVERNOR, signature, index, indexed=[topic(voter)], data=data)


def executed(index: int) -> LogEntry:
    data = abi_encode(["uint256"], [PROPOSAL])
    return event(GOVERNOR, "ProposalExecuted(uint256)", index, indexed=[], data=data)


def with_logs(frame: CallFrame, *logs: LogEntry) -> CallFrame:
    return frame.model_copy(update={"logs": list(logs)})


def read(voter: str, selector: str = BALANCE_OF) -> CallFrame:
    data = abi_encode(["address"], [voter]).hex()
    if selector == PAST_VOTES:
        data += abi_encode(["uint256"], [9]).hex()
    return call(GOVERNOR, TOKEN, selector, kind="STATICCALL", data=data)


def vote(voter: str, weight: int, index: int, selector: str = BALANCE_OF) -> CallFrame:
    data = abi_encode(["uint256", "uint8"], [PROPOSAL, 1]).hex()
    frame = call(voter, GOVERNOR, CAST_VOTE, data=data, calls=[read(voter, selector)])
    return with_logs(frame, vote_cast(voter, weight, index))


def commit(caller: str, recipient: str, index: int) -> CallFrame:
    """The governor executes: 100 ETH and 50,000 USDX (6 decimals) from the treasury."""
    pay = call(GOVERNOR, recipient, value=100 * ETHER)
    usdx = with_logs(
        call(GOVERNOR, USDX, keccak_signature("transfer(address,uint256)")[:10]),
        transfer(USDX, GOVERNOR, recipient, 50_000 * 10**6, index + 1),
    )
    frame = call(caller, GOVERNOR, EMERGENCY, data="00" * 32, calls=[pay, usdx])
    return with_logs(frame, executed(index))


def treasury_result(root: CallFrame, recipient: str) -> ReplayResult:
    replay = result(root, changes={GOVERNOR: (100 * ETHER, 0), recipient: (0, 100 * ETHER)})
    replay.balance_changes.extend(
        [
            BalanceChange(
                address=GOVERNOR, asset=USDX, before=50_000 * 10**6, after=0, delta=-50_000 * 10**6
            ),
            BalanceChange(
                address=recipient, asset=USDX, before=0, after=50_000 * 10**6, delta=50_000 * 10**6
            ),
        ]
    )
    return replay


def flash_takeover() -> CallFrame:
    """EOA -> ATTACKER: borrow GOV from the lender, vote, commit, repay (Beanstalk)."""
    lend = with_logs(call(LENDER, TOKEN), transfer(TOKEN, LENDER, ATTACKER, BORROWED, 0))
    repay = with_logs(call(ATTACKER, TOKEN), transfer(TOKEN, ATTACKER, LENDER, BORROWED, 4))
    callback = call(
        LENDER, ATTACKER, calls=[vote(ATTACKER, BORROWED, 1), commit(ATTACKER, ATTACKER, 2), repay]
    )
    loan = call(ATTACKER, LENDER, calls=[lend, callback])
    return call(EOA, ATTACKER, "0xabcdef01", calls=[loan])


def test_a_flash_borrowed_vote_executed_in_the_same_tx_is_critical() -> None:
    findings = governance.detect(treasury_result(flash_takeover(), ATTACKER))
    assert len(findings) == 1
    finding = findings[0]
    assert finding.detector == "governance"
    assert finding.vulnerability_class is VulnerabilityClass.GOVERNANCE_TAKEOVER
    assert (finding.severity, finding.confidence) == ("critical", 0.95)
    assert finding.title == (
        f"Proposal {PROPOSAL} voted with borrowed voting power and executed in one transaction "
        f"on {GOVERNOR}"
    )
    assert finding.evidence.frames == [
        "calls[0].calls[1].calls[0]",
        "calls[0].calls[0]",
        "calls[0].calls[1].calls[2]",
        "calls[0].calls[1].calls[1]",
        "calls[0].calls[1].calls[1].calls[0]",
        "calls[0].calls[1].calls[1].calls[1]",
    ]
    assert finding.evidence.selectors == [CAST_VOTE, EMERGENCY]
    assert finding.evidence.addresses == [GOVERNOR, ATTACKER, TOKEN]
    assert finding.evidence.amounts == [
        Amount(address=GOVERNOR, asset="ETH", amount=100 * ETHER),
        Amount(address=GOVERNOR, asset=USDX, amount=50_000 * 10**6),
        Amount(address=ATTACKER, asset="ETH", amount=100 * ETHER),
        Amount(address=ATTACKER, asset=USDX, amount=50_000 * 10**6),
    ]
    assert finding.evidence.signals == [
        f"proposal {PROPOSAL} of governor {GOVERNOR} was voted for and executed in the same "
        "transaction",
        f"the governor weighed {ATTACKER}'s vote ({BORROWED}) with its current token balance, "
        "not a snapshot taken before the proposal",
        f"the voter {ATTACKER} received {BORROWED} base units of token {TOKEN} from {LENDER} in "
        "this transaction just before voting",
        f"after the vote {BORROWED} base units of token {TOKEN} went back from the voter to "
        f"{LENDER}: the voting power was borrowed for the transaction",
        "the execution moved value out of the treasury to the voter's side",
        f"the treasury {GOVERNOR} lost 100 ETH, 50000000000 base units of token {USDX}",
    ]


def test_an_honest_vote_raises_nothing() -> None:
    replay = result(vote(EOA, 300 * ETHER, 0))
    assert governance.detect(replay) == []


def test_an_honest_execution_raises_nothing() -> None:
    root = commit(EOA, OTHER, 0).model_copy(update={"input": EXECUTE + "00" * 32})
    assert governance.detect(treasury_result(root, OTHER)) == []


def test_a_holder_voting_and_executing_in_one_tx_is_low() -> None:
    """A whale that held its tokens all along pushes a grant to a third party through at once."""
    root = call(
        EOA,
        ATTACKER,
        "0xabcdef01",
        calls=[vote(ATTACKER, 800 * ETHER, 0), commit(ATTACKER, OTHER, 1)],
    )
    [finding] = governance.detect(treasury_result(root, OTHER))
    assert (finding.severity, finding.confidence) == ("low", 0.65)
    assert (
        finding.title == f"Proposal {PROPOSAL} voted and executed in one transaction on {GOVERNOR}"
    )


def test_a_flash_borrowed_vote_without_execution_is_medium() -> None:
    lend = with_logs(call(LENDER, TOKEN), transfer(TOKEN, LENDER, ATTACKER, BORROWED, 0))
    repay = with_logs(call(ATTACKER, TOKEN), transfer(TOKEN, ATTACKER, LENDER, BORROWED, 2))
    callback = call(LENDER, ATTACKER, calls=[vote(ATTACKER, BORROWED, 1, PAST_VOTES), repay])
    root = call(EOA, ATTACKER, "0xabcdef01", calls=[call(ATTACKER, LENDER, calls=[lend, callback])])
    [finding] = governance.detect(result(root))
    assert (finding.severity, finding.confidence) == ("medium", 0.5)
    assert finding.title == (
        f"Vote on proposal {PROPOSAL} cast with tokens acquired in the same transaction"
    )
    # The governor read a snapshot (getPastVotes): no current-balance signal.
    assert len(finding.evidence.signals) == 2


def test_a_vote_against_is_not_a_takeover() -> None:
    lend = with_logs(call(LENDER, TOKEN), transfer(TOKEN, LENDER, ATTACKER, BORROWED, 0))
    against = vote(ATTACKER, BORROWED, 1)
    against = with_logs(against, vote_cast(ATTACKER, BORROWED, 1, support=0))
    root = call(EOA, ATTACKER, "0xabcdef01", calls=[lend, against])
    assert governance.detect(result(root)) == []


def test_beanstalk_vote_and_commit_events_are_recognised() -> None:
    """Beanstalk's GovernanceFacet: Vote(account, bip, roots) and Commit(account, bip)."""
    bip = topic(f"0x{PROPOSAL:040x}")
    voted = event(
        GOVERNOR,
        "Vote(address,uint32,uint256)",
        0,
        indexed=[topic(ATTACKER), bip],
        data=abi_encode(["uint256"], [BORROWED]),
    )
    committed = event(
        GOVERNOR, "Commit(address,uint32)", 1, indexed=[topic(ATTACKER), bip], data=b""
    )
    pay = call(GOVERNOR, ATTACKER, value=100 * ETHER)
    root = call(
        EOA,
        ATTACKER,
        "0xabcdef01",
        calls=[
            with_logs(call(ATTACKER, GOVERNOR, "0x11111111"), voted),
            with_logs(call(ATTACKER, GOVERNOR, "0x22222222", calls=[pay]), committed),
        ],
    )
    replay = result(root, changes={GOVERNOR: (100 * ETHER, 0), ATTACKER: (0, 100 * ETHER)})
    [finding] = governance.detect(replay)
    assert (finding.severity, finding.confidence) == ("critical", 0.65)
    assert finding.evidence.frames == ["calls[0]", "calls[1]", "calls[1].calls[0]"]
