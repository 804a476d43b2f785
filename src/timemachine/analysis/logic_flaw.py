"""Accounting logic flaws: token balances that change by amounts the token's own `Transfer`
events do not account for, and the inflated balance sold to a pool that loses value.

For each ERC-20 that emitted `Transfer` events and whose storage changed, the balance mapping's
slot p (0..20) is found from the state diff: a Solidity `mapping(address => uint256)` at slot p
keeps holder h's balance at keccak256(pad32(h) ++ pad32(p)). The mapping counts only when some
participant's slot changed by exactly what the events say (so share-based and reflection tokens,
whose storage is not in event units, are left alone). Then, per participant, the storage change
minus the net of the events (WETH9 `Deposit`/`Withdrawal` included) is what it was credited out
of nothing. A participant whose slot is absent from the diff (unchanged) counts only when it
transferred to itself, the classic cached-balance bug: `Transfer(a, a, x)` raising a's balance.

Signals: the unaccounted credit; self-transfers that match it; the credited holder selling the
token to a pool; that pool losing another asset. Severity comes from the pool's loss when the
credited tokens reached it; otherwise the finding is low.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eth_utils.crypto import keccak

from timemachine.analysis.evidence import (
    amount_text,
    amounts_text,
    confidence_from,
    losses_of,
    lower,
    severity_for_loss,
)
from timemachine.analysis.token_moves import Move, steps
from timemachine.models.analysis import Amount, Evidence, Finding, Severity, SlotChange
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.trace.signatures import keccak_signature

NAME = "logic_flaw"
MAX_SLOT = 20
ZERO = "0x" + "0" * 40
_DEPOSIT = keccak_signature("Deposit(address,uint256)")
_WITHDRAWAL = keccak_signature("Withdrawal(address,uint256)")


def balance_slot(holder: str, index: int) -> int:
    """The storage slot of `holder` in a Solidity mapping(address => ...) declared at `index`."""
    key = bytes.fromhex(lower(holder)[2:].rjust(64, "0")) + index.to_bytes(32, "big")
    return int.from_bytes(keccak(key), "big")


def _int(word: str | None) -> int:
    try:
        return int(word or "0x0", 16)
    except ValueError:
        return 0


@dataclass
class _Slots:
    """One account's changed storage (diffMode): slot -> (before, after, old word, new word)."""

    changes: dict[int, tuple[int, int, str | None, str | None]] = field(default_factory=dict)


def _storage(result: ReplayResult, account: str) -> _Slots:
    slots = _Slots()
    pre = next((s for a, s in result.state_diff.pre.items() if lower(a) == account), None)
    post = next((s for a, s in result.state_diff.post.items() if lower(a) == account), None)
    before = {_int(k): v for k, v in (pre.storage if pre else {}).items()}
    after = {_int(k): v for k, v in (post.storage if post else {}).items()}
    for slot in before.keys() | after.keys():
        old, new = before.get(slot), after.get(slot)
        # diffMode: a slot only in `pre` was cleared; only in `post` was zero before.
        slots.changes[slot] = (_int(old), _int(new), old, new)
    return slots


def _wrapped(result: ReplayResult, token: str) -> dict[str, int]:
    """Net WETH9-style Deposit/Withdrawal credit per holder (balances changed without Transfer)."""
    net: dict[str, int] = {}
    for log in result.trace.all_logs():
        if lower(log.address) != token or len(log.topics) != 2 or len(log.data) != 66:
            continue
        topic = log.topics[0].lower()
        if topic not in (_DEPOSIT, _WITHDRAWAL):
            continue
        holder = "0x" + log.topics[1][-40:].lower()
        amount = _int(log.data)
        net[holder] = net.get(holder, 0) + (amount if topic == _DEPOSIT else -amount)
    return net


@dataclass
class _Credit:
    token: str
    holder: str
    credited: int
    slot: SlotChange | None
    self_moves: list[Move]
    sales: list[Move]
    """Transfers of the token from the holder to a pool that lost another asset."""
    pool: str | None
    pool_slot: SlotChange | None


def _agree(slots: _Slots, logged: dict[str, int], holders: list[str], index: int) -> int:
    """How many holders' slots in a mapping at `index` changed exactly as their events say."""
    agree = 0
    for holder in holders:
        change = slots.changes.get(balance_slot(holder, index))
        if change is not None and logged[holder] and change[1] - change[0] == logged[holder]:
            agree += 1
    return agree


def _credits(result: ReplayResult) -> list[_Credit]:
    moves = steps(result.trace).moves
    by_token: dict[str, list[Move]] = {}
    for move in moves:
        by_token.setdefault(move.token, []).append(move)
    found: list[_Credit] = []
    for token, token_moves in by_token.items():
        slots = _storage(result, token)
        if not slots.changes:
            continue
        logged: dict[str, int] = dict(_wrapped(result, token))
        for move in token_moves:
            logged[move.source] = logged.get(move.source, 0) - move.amount
            logged[move.target] = logged.get(move.target, 0) + move.amount
        holders = [holder for holder in logged if holder != ZERO]

        index = max(
            range(MAX_SLOT + 1),
            key=lambda candidate: (_agree(slots, logged, holders, candidate), -candidate),
        )
        if _agree(slots, logged, holders, index) == 0:
            continue
        for holder in holders:
            slot = balance_slot(holder, index)
            change = slots.changes.get(slot)
            own = [m for m in token_moves if m.source == holder and m.target == holder]
            if change is None and not own:
                continue
            delta = change[1] - change[0] if change else 0
            credited = delta - logged[holder]
            if credited <= 0:
                continue
            found.append(_credit(result, token, holder, index, credited, change, own, token_moves))
    return found


def _slot_change(
    token: str, slot: int, change: tuple[int, int, str | None, str | None] | None
) -> SlotChange | None:
    if change is None:
        return None
    return SlotChange(address=token, slot=f"0x{slot:064x}", before=change[2], after=change[3])


def _credit(
    result: ReplayResult,
    token: str,
    holder: str,
    index: int,
    credited: int,
    change: tuple[int, int, str | None, str | None] | None,
    own: list[Move],
    token_moves: list[Move],
) -> _Credit:
    sold: dict[str, list[Move]] = {}
    for move in token_moves:
        if move.source == holder and move.target not in (holder, ZERO):
            lost = losses_of(result, move.target)
            if any(asset != token for asset in lost):
                sold.setdefault(move.target, []).append(move)
    pool = max(sold, key=lambda p: sum(m.amount for m in sold[p])) if sold else None
    pool_slot = None
    if pool is not None:
        slot = balance_slot(pool, index)
        pool_slot = _slot_change(token, slot, _storage(result, token).changes.get(slot))
    return _Credit(
        token=token,
        holder=holder,
        credited=credited,
        slot=_slot_change(token, balance_slot(holder, index), change),
        self_moves=own,
        sales=sold.get(pool, []) if pool else [],
        pool=pool,
        pool_slot=pool_slot,
    )


def _finding(result: ReplayResult, credit: _Credit) -> Finding:
    token, holder, pool = credit.token, credit.holder, credit.pool
    self_total = sum(move.amount for move in credit.self_moves)
    signals = [
        f"{holder}'s balance in {token} rose {amount_text(token, credit.credited)} more than its "
        "Transfer "
        "events account for (tokens created without a mint event)"
    ]
    if credit.self_moves:
        signals.append(
            f"{len(credit.self_moves)} self-transfer(s) Transfer({holder}, {holder}, x) totalling "
            f"{self_total}"
            + (", exactly the unaccounted credit" if self_total == credit.credited else "")
        )
    lost: dict[str, int] = {}
    severity: Severity = "low"
    if pool is not None:
        sold = sum(move.amount for move in credit.sales)
        lost = {a: v for a, v in losses_of(result, pool).items() if a != token}
        signals.append(f"the holder sold {amount_text(token, sold)} to {pool}")
        signals.append(f"{pool} lost " + amounts_text(lost))
        severity = severity_for_loss(result, pool)
    frames = [move.frame for move in credit.self_moves[:10]] + [m.frame for m in credit.sales]
    drained = amounts_text(lost)
    explanation = (
        f"Token {token} credited {holder} with {amount_text(token, credit.credited)} that no "
        "Transfer event accounts for"
        + (
            f": each of its {len(credit.self_moves)} transfers to itself raised its balance by the "
            "amount transferred (the sender's and receiver's balances were cached before either "
            "was written)"
            if credit.self_moves
            else ""
        )
        + "."
        + (
            f" The inflated balance was then sold to {pool}, which lost {drained}."
            if pool is not None
            else ""
        )
    )
    return Finding(
        detector=NAME,
        vulnerability_class=VulnerabilityClass.LOGIC_FLAW,
        severity=severity,
        confidence=confidence_from(len(signals) - 1, base=0.5, step=0.15),
        title=(
            f"Self-transfer inflates balances in {token}"
            if credit.self_moves
            else f"Balance credited without a Transfer in {token}"
        ),
        explanation=explanation,
        recommendation=(
            "Update the sender's balance before reading the receiver's (or reject from == to), "
            "keep balance changes and Transfer events in one code path, and test the invariant "
            "sum(balances) == totalSupply, including self-transfers and zero amounts."
        ),
        evidence=Evidence(
            frames=list(dict.fromkeys(frames)),
            addresses=[address for address in (token, holder, pool) if address],
            storage=[slot for slot in (credit.slot, credit.pool_slot) if slot is not None],
            amounts=[
                Amount(address=holder, asset=token, amount=credit.credited),
                *(Amount(address=pool, asset=a, amount=v) for a, v in lost.items() if pool),
            ],
            signals=signals,
        ),
    )


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per holder credited out of nothing."""
    return [_finding(result, credit) for credit in _credits(result)]
