"""The arbitrary-call detector on hand-built call trees: allowance drains through a contract that
executes caller-supplied calls, and the ordinary spends that look like them."""

from __future__ import annotations

from eth_abi.abi import encode

from tests.unit.analysis_trees import ATTACKER, ECRECOVER, EOA, OTHER, VICTIM, call, result
from timemachine.analysis import arbitrary_call
from timemachine.models import BalanceChange, TokenTransfer
from timemachine.models.analysis import Amount
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame, LogEntry

AGGREGATOR = "0x00000000000000000000000000000000000000a9"
TOKEN = "0x00000000000000000000000000000000000000d0"
ROUTER = "0x00000000000000000000000000000000000000d1"
PAIR = "0x00000000000000000000000000000000000000d2"
VICTIM2 = "0x00000000000000000000000000000000000000b2"
SWAP = "0x5f575529"
APPROVAL = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"


def pull(spender: str, source: str, target: str, amount: int) -> CallFrame:
    data = encode(["address", "address", "uint256"], [source, target, amount]).hex()
    return call(spender, TOKEN, "0x23b872dd", data=data)


def swap(caller: str, inner: CallFrame, calls: list[CallFrame] | None = None) -> CallFrame:
    """caller -> aggregator.swap(token, 0, target, data, token, 0) executing `inner`."""
    data = encode(
        ["address", "uint256", "address", "bytes", "address", "uint256"],
        [TOKEN, 0, inner.to, bytes.fromhex(inner.input[2:]), TOKEN, 0],
    ).hex()
    return call(caller, AGGREGATOR, SWAP, data=data, calls=calls or [inner])


def moved(
    replay: ReplayResult, changes: dict[str, int], transfers: list[tuple[str, str, int]]
) -> ReplayResult:
    """`replay` with token balance changes (address -> delta, before = 100 units) and Transfer
    records (from, to, amount) of TOKEN."""
    rows = [
        BalanceChange(address=address, asset=TOKEN, before=100, after=100 + delta, delta=delta)
        for address, delta in changes.items()
    ]
    records = [
        TokenTransfer.model_validate(
            {"standard": "ERC20", "token": TOKEN, "from": source, "to": target, "amount": amount}
        )
        for source, target, amount in transfers
    ]
    return replay.model_copy(
        update={
            "balance_changes": [*replay.balance_changes, *rows],
            "token_transfers": [*replay.token_transfers, *records],
        }
    )


def drain(amounts: tuple[int, int] = (100, 40)) -> ReplayResult:
    """EOA -> attacker contract -> aggregator.swap twice, each making it pull a victim's tokens."""
    first, second = amounts
    root = call(
        EOA,
        ATTACKER,
        "0xabcdef01",
        calls=[
            swap(ATTACKER, pull(AGGREGATOR, VICTIM, EOA, first)),
            swap(ATTACKER, pull(AGGREGATOR, VICTIM2, EOA, second)),
        ],
    )
    return moved(
        result(root),
        {VICTIM: -first, VICTIM2: -second, EOA: first + second},
        [(VICTIM, EOA, first), (VICTIM2, EOA, second)],
    )


def test_caller_supplied_transfer_froms_draining_bystanders_are_critical() -> None:
    findings = arbitrary_call.detect(drain())
    assert len(findings) == 1
    finding = findings[0]
    assert finding.detector == "arbitrary_call"
    assert finding.vulnerability_class is VulnerabilityClass.ARBITRARY_CALL
    assert (finding.severity, finding.confidence) == ("critical", 0.95)
    assert finding.evidence.frames == ["calls[0].calls[0]", "calls[1].calls[0]"]
    assert finding.evidence.addresses == [AGGREGATOR, VICTIM, VICTIM2]
    assert finding.evidence.selectors == ["0x23b872dd"]
    assert finding.evidence.amounts == [
        Amount(address=VICTIM, asset=TOKEN, amount=100),
        Amount(address=VICTIM2, asset=TOKEN, amount=40),
        Amount(address=EOA, asset=TOKEN, amount=100),
        Amount(address=EOA, asset=TOKEN, amount=40),
    ]
    assert finding.evidence.signals == [
        f"{AGGREGATOR} spent the allowances of 2 address(es) that took no part in the "
        "transaction (2 pull(s))",
        f"the transferFrom calldata of 2 pull(s) appears verbatim in the calldata {AGGREGATOR} "
        f"received from {ATTACKER} (caller-supplied call)",
        "every pulled token went to the attacker side",
        "2 of the drained addresses lost value",
        "2 pulls in one transaction",
    ]
    assert "lost 140 base units of token" in finding.explanation


def test_severity_follows_the_share_of_the_balance_lost() -> None:
    [finding] = arbitrary_call.detect(drain((20, 10)))
    assert (finding.severity, finding.confidence) == ("medium", 0.95)


def test_honest_aggregator_swap_pulls_from_the_caller_only() -> None:
    # The user's tokens go to the aggregator; the router it calls (with caller-supplied data)
    # pulls from the aggregator, which is on the call stack.
    routed = call(AGGREGATOR, ROUTER, "0x38ed1739", data="00" * 160)
    routed.calls.append(pull(ROUTER, AGGREGATOR, PAIR, 50))
    root = swap(EOA, routed, calls=[pull(AGGREGATOR, EOA, AGGREGATOR, 50), routed])
    replay = moved(
        result(root), {EOA: -50, PAIR: 50}, [(EOA, AGGREGATOR, 50), (AGGREGATOR, PAIR, 50)]
    )
    assert arbitrary_call.detect(replay) == []


def test_an_approved_eoa_spending_its_allowance_is_not_reported() -> None:
    root = pull(EOA, VICTIM, EOA, 30)
    replay = moved(result(root), {VICTIM: -30, EOA: 30}, [(VICTIM, EOA, 30)])
    assert arbitrary_call.detect(replay) == []


def test_a_router_swap_pulling_from_the_sender_is_not_reported() -> None:
    root = call(EOA, ROUTER, "0x38ed1739", calls=[pull(ROUTER, EOA, PAIR, 30)])
    replay = moved(result(root), {EOA: -30, PAIR: 30}, [(EOA, PAIR, 30)])
    assert arbitrary_call.detect(replay) == []


def test_a_victim_taking_part_in_the_transaction_is_not_a_bystander() -> None:
    root = call(
        EOA,
        ATTACKER,
        "0xabcdef01",
        calls=[
            call(ATTACKER, VICTIM, "0x12345678"),
            swap(ATTACKER, pull(AGGREGATOR, VICTIM, EOA, 9)),
        ],
    )
    replay = moved(result(root), {VICTIM: -9, EOA: 9}, [(VICTIM, EOA, 9)])
    assert arbitrary_call.detect(replay) == []


def test_a_reverted_pull_is_not_reported() -> None:
    inner = pull(AGGREGATOR, VICTIM, EOA, 9).model_copy(update={"error": "execution reverted"})
    root = call(EOA, ATTACKER, "0xabcdef01", calls=[swap(ATTACKER, inner)])
    assert arbitrary_call.detect(result(root)) == []


def test_a_contract_charging_a_subscriber_it_chose_itself_is_info() -> None:
    # A keeper triggers a billing contract that pulls from a subscriber to a merchant: the
    # calldata is built by the contract, not passed in, and nothing goes to the sender's side.
    data = encode(["address"], [VICTIM]).hex()
    root = call(
        EOA, AGGREGATOR, "0x2e1a7d4d", data=data, calls=[pull(AGGREGATOR, VICTIM, OTHER, 5)]
    )
    replay = moved(result(root), {VICTIM: -5, OTHER: 5}, [(VICTIM, OTHER, 5)])
    [finding] = arbitrary_call.detect(replay)
    assert (finding.severity, finding.confidence) == ("info", 0.5)
    assert finding.evidence.signals[1:] == ["1 of the drained addresses lost value"]


def test_a_pull_paid_to_the_sender_without_injected_calldata_is_low() -> None:
    root = call(
        EOA,
        OTHER,
        "0x2e1a7d4d",
        calls=[call(OTHER, AGGREGATOR, "0x11111111", calls=[pull(AGGREGATOR, VICTIM, EOA, 5)])],
    )
    replay = moved(result(root), {VICTIM: -5, EOA: 5}, [(VICTIM, EOA, 5)])
    [finding] = arbitrary_call.detect(replay)
    assert finding.severity == "low"


def test_a_signature_checked_by_the_spender_makes_the_spend_authorized() -> None:
    # A multisig wallet executes a transferFrom its owners signed (calldata passed in verbatim).
    inner = pull(AGGREGATOR, VICTIM, EOA, 100)
    check = call(AGGREGATOR, ECRECOVER, kind="STATICCALL", data="11" * 128, output="0x" + "00" * 32)
    root = swap(EOA, inner, calls=[check, inner])
    replay = moved(result(root), {VICTIM: -100, EOA: 100}, [(VICTIM, EOA, 100)])
    [finding] = arbitrary_call.detect(replay)
    assert finding.severity == "info"
    assert finding.evidence.signals[-1] == (
        "a signature was verified before the pull (an authorized spend)"
    )


def permit(owner: str, *, approved: bool) -> CallFrame:
    data = encode(
        ["address", "address", "uint256", "uint256", "uint8", "bytes32", "bytes32"],
        [owner, AGGREGATOR, 2**256 - 1, 2**40, 27, b"\x01" * 32, b"\x02" * 32],
    ).hex()
    frame = call(AGGREGATOR, TOKEN, "0xd505accf", data=data)
    if approved:
        topics = [APPROVAL, "0x" + owner[2:].rjust(64, "0"), "0x" + AGGREGATOR[2:].rjust(64, "0")]
        frame.logs.append(LogEntry(address=TOKEN, topics=topics, data="0x" + "ff" * 32))
    return frame


def forged(approved: bool) -> ReplayResult:
    root = call(
        EOA,
        AGGREGATOR,
        "0x8d7d3eea",
        data=encode(["address"], [VICTIM]).hex(),
        calls=[permit(VICTIM, approved=approved), pull(AGGREGATOR, VICTIM, EOA, 95)],
    )
    return moved(result(root), {VICTIM: -95, EOA: 95}, [(VICTIM, EOA, 95)])


def test_a_permit_that_approved_nothing_before_the_pull_is_a_forged_permit() -> None:
    [finding] = arbitrary_call.detect(forged(approved=False))
    assert (finding.severity, finding.confidence) == ("critical", 0.8)
    assert finding.evidence.frames == ["calls[1]"]
    assert finding.evidence.signals[1] == "1 pull(s) followed a permit that emitted no Approval"


def test_a_genuine_permit_by_the_owner_authorizes_the_pull() -> None:
    [finding] = arbitrary_call.detect(forged(approved=True))
    assert finding.severity == "info"
