"""The share-inflation detector on hand-built ERC-4626 call trees."""

from __future__ import annotations

from itertools import count

from tests.unit.analysis_trees import ATTACKER, EOA, OTHER, VICTIM, call, result
from timemachine.analysis import share_inflation
from timemachine.models import BalanceChange, LogEntry, ReplayResult
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame
from timemachine.trace.signatures import keccak_signature

TOKEN = "0x00000000000000000000000000000000000000d0"
VAULT = "0x00000000000000000000000000000000000000d1"
ZERO = "0x" + "00" * 20
A = 50_000 * 10**6
"""What the victim deposits (and what the attacker donates)."""


class Logs:
    """Builds ERC-20 / ERC-4626 logs numbered in the order they are created (emission order)."""

    def __init__(self) -> None:
        self.index = count()

    def log(self, emitter: str, signature: str, parties: list[str], words: list[int]) -> LogEntry:
        topics = [keccak_signature(signature), *("0x" + "00" * 12 + p[2:] for p in parties)]
        data = "0x" + "".join(f"{word:064x}" for word in words)
        return LogEntry(address=emitter, topics=topics, data=data, index=next(self.index))

    def transfer(self, token: str, source: str, target: str, amount: int) -> LogEntry:
        return self.log(token, "Transfer(address,address,uint256)", [source, target], [amount])

    def deposit(self, sender: str, owner: str, assets: int, shares: int) -> LogEntry:
        signature = "Deposit(address,address,uint256,uint256)"
        return self.log(VAULT, signature, [sender, owner], [assets, shares])

    def withdraw(
        self, sender: str, receiver: str, owner: str, assets: int, shares: int
    ) -> LogEntry:
        signature = "Withdraw(address,address,address,uint256,uint256)"
        return self.log(VAULT, signature, [sender, receiver, owner], [assets, shares])


def emitting(frame: CallFrame, *logs: LogEntry) -> CallFrame:
    frame.logs = list(logs)
    return frame


def token_move(logs: Logs, caller: str, source: str, target: str, amount: int) -> CallFrame:
    """`caller` moving `amount` TOKEN from `source` to `target` (transfer or transferFrom)."""
    return emitting(call(caller, TOKEN, "0xa9059cbb"), logs.transfer(TOKEN, source, target, amount))


def deposit(logs: Logs, depositor: str, assets: int, shares: int) -> CallFrame:
    """`depositor` calling VAULT.deposit(assets, depositor): pull, mint, Deposit."""
    pull = token_move(logs, VAULT, depositor, VAULT, assets)
    mint = logs.transfer(VAULT, ZERO, depositor, shares)
    event = logs.deposit(depositor, depositor, assets, shares)
    return emitting(call(depositor, VAULT, "0x6e553f65", calls=[pull]), mint, event)


def redeem(logs: Logs, owner: str, assets: int, shares: int) -> CallFrame:
    """`owner` calling VAULT.redeem(shares, owner, owner): burn, pay, Withdraw."""
    burn = logs.transfer(VAULT, owner, ZERO, shares)
    pay = token_move(logs, VAULT, VAULT, owner, assets)
    event = logs.withdraw(owner, owner, owner, assets, shares)
    return emitting(call(owner, VAULT, "0xba087652", calls=[pay]), burn, event)


def with_tokens(replay: ReplayResult, changes: dict[str, tuple[int, int]]) -> ReplayResult:
    """Add TOKEN balance changes (address -> (before, after)) to `replay`."""
    for address, (before, after) in changes.items():
        replay.balance_changes.append(
            BalanceChange(
                address=address, asset=TOKEN, before=before, after=after, delta=after - before
            )
        )
    return replay


def attack(*, victim_shares: int = 0, allocate_error: str | None = None) -> CallFrame:
    """EOA -> ATTACKER: 1-unit deposit, donation of A, VICTIM's keeper deposit, redeem, payout."""
    logs = Logs()
    fund = token_move(logs, ATTACKER, EOA, ATTACKER, A + 1)
    first = deposit(logs, ATTACKER, 1, 1)
    donate = token_move(logs, ATTACKER, ATTACKER, VAULT, A)
    allocate = call(ATTACKER, VICTIM, "0xabaa1f5c", calls=[deposit(logs, VICTIM, A, victim_shares)])
    allocate.error = allocate_error
    everything = A + 1 if allocate_error else (2 * A + 1) // (1 + victim_shares)
    take = redeem(logs, ATTACKER, everything, 1)
    payout = token_move(logs, ATTACKER, ATTACKER, EOA, everything)
    return call(EOA, ATTACKER, "0x1e1f0d52", calls=[fund, first, donate, allocate, take, payout])


def test_donation_then_zero_share_deposit_then_redeem_is_critical() -> None:
    replay = with_tokens(
        result(attack()), {VICTIM: (A, 0), EOA: (A + 1, 2 * A + 1), ATTACKER: (0, 0)}
    )
    [finding] = share_inflation.detect(replay)
    assert finding.detector == "share_inflation"
    assert finding.vulnerability_class is VulnerabilityClass.SHARE_INFLATION
    assert (finding.severity, finding.confidence) == ("critical", 0.95)
    assert finding.title == (
        f"ERC-4626 share inflation: a donation to {VAULT} made {VICTIM}'s deposit mint 0 share(s)"
    )
    assert finding.evidence.frames == ["calls[2]", "calls[3].calls[0]", "calls[4]"]
    assert finding.evidence.addresses == [VAULT, VICTIM, ATTACKER]
    assert finding.evidence.amounts == [
        Amount(address=VICTIM, asset=TOKEN, amount=A),
        Amount(address=ATTACKER, asset=TOKEN, amount=A),
        Amount(address=ATTACKER, asset=TOKEN, amount=A),
    ]
    units = f"base units of token {TOKEN}"
    assert finding.evidence.signals == [
        f"1 direct transfer(s) of {A} {units} into vault {VAULT} by {ATTACKER} with no Deposit "
        "for them (a donation)",
        f"the donor's side first deposited only 1 {units} for 1 share(s)",
        f"{VICTIM}'s deposit of {A} {units} after the donation minted 0 share(s) (the rate "
        f"before the donation gave {A})",
        f"the donor's side took {2 * A + 1} {units} out of the vault after putting in {A + 1} "
        f"{units}: {A} {units} more",
        "the diluted depositor lost value over the transaction",
    ]
    assert f"{VICTIM} then deposited {A} {units} and got 0 share(s)." in finding.explanation


def test_a_diluted_deposit_that_the_donor_did_not_profit_from_is_medium() -> None:
    # The victim's deposit minted 1 share where the earlier rate gave A; the attacker's share
    # redeems half the vault, A, after it put in A + 1: the victim is diluted, nobody profits yet.
    replay = with_tokens(result(attack(victim_shares=1)), {VICTIM: (A, 0)})
    [finding] = share_inflation.detect(replay)
    assert (finding.severity, finding.confidence) == ("medium", 0.95)
    assert finding.evidence.signals[2] == (
        f"{VICTIM}'s deposit of {A} base units of token {TOKEN} after the donation minted "
        f"1 share(s) (the rate before the donation gave {A})"
    )
    assert finding.evidence.signals[3] == "the diluted depositor lost value over the transaction"


def test_a_diluted_deposit_without_a_balance_record_is_medium() -> None:
    [finding] = share_inflation.detect(result(attack()))
    assert (finding.severity, finding.confidence) == ("medium", 0.95)
    assert len(finding.evidence.signals) == 4
    assert finding.evidence.amounts == [
        Amount(address=ATTACKER, asset=TOKEN, amount=A),
        Amount(address=ATTACKER, asset=TOKEN, amount=A),
    ]


def test_a_reverted_victim_deposit_leaves_only_the_low_setup_signal() -> None:
    replay = with_tokens(result(attack(allocate_error="execution reverted")), {VICTIM: (A, A)})
    [finding] = share_inflation.detect(replay)
    assert (finding.severity, finding.confidence) == ("low", 0.65)
    assert finding.title == f"Direct asset transfer (donation) into ERC-4626 vault {VAULT}"
    assert finding.evidence.frames == ["calls[2]", "calls[4]"]
    assert finding.evidence.addresses == [VAULT, ATTACKER]


def test_an_ordinary_deposit_and_redeem_is_not_reported() -> None:
    logs = Logs()
    root = call(
        EOA, OTHER, "0x12345678", calls=[deposit(logs, OTHER, A, A), redeem(logs, OTHER, A, A)]
    )
    assert share_inflation.detect(with_tokens(result(root), {OTHER: (A, A)})) == []


def test_deposits_by_two_users_at_a_fair_rate_are_not_reported() -> None:
    logs = Logs()
    frames = [deposit(logs, OTHER, 3 * A, 2 * A), deposit(logs, VICTIM, A, 2 * A // 3)]
    root = call(EOA, OTHER, "0x12345678", calls=frames)
    assert share_inflation.detect(result(root)) == []


def test_a_yield_airdrop_without_a_following_deposit_is_info() -> None:
    logs = Logs()
    withdraw = redeem(logs, VICTIM, A, A)
    airdrop = token_move(logs, OTHER, OTHER, VAULT, A // 10)
    root = call(EOA, OTHER, "0x12345678", calls=[withdraw, airdrop])
    replay = with_tokens(result(root), {OTHER: (A, A - A // 10), VICTIM: (0, A)})
    [finding] = share_inflation.detect(replay)
    assert (finding.severity, finding.confidence) == ("info", 0.5)
    assert finding.evidence.frames == ["calls[1]"]
    assert finding.evidence.amounts == [Amount(address=OTHER, asset=TOKEN, amount=A // 10)]


def test_a_token_transfer_to_a_contract_without_vault_events_is_not_reported() -> None:
    logs = Logs()
    root = call(EOA, OTHER, "0x12345678", calls=[token_move(logs, OTHER, OTHER, VAULT, A)])
    assert share_inflation.detect(result(root)) == []
