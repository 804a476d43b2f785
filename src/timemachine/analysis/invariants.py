"""Invariant breaks computed from a replay: facts that hold for every honest token or vault,
checked before and after the transaction, that detectors cite as evidence.

- supply: a token's holders' balances (read before and after) grew by more than the token's own
  mint and burn events account for, or a holder's balance moved other than its events say;
- share price: a vault paid out more underlying per share burned than it took per share minted
  within the same transaction (the exchange rate jumped);
- per-call limit: a function minted more items to one account in one outer call than it does
  per call (see `reentrancy`, which finds the nested entries this comes from).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from timemachine.analysis.evidence import context_of, lower, succeeded, visits
from timemachine.analysis.token_moves import erc20_transfer
from timemachine.models.replay import ReplayResult
from timemachine.models.trace import CallFrame

ZERO = "0x" + "0" * 40
SHARE_PRICE_JUMP = Fraction(11, 10)
"""Redeeming at this many times the minting rate (or more) breaks the share-price invariant."""


@dataclass(frozen=True)
class InvariantBreak:
    kind: str
    """"supply", "balance_events" or "share_price"."""
    contract: str
    text: str


def supply_breaks(result: ReplayResult) -> list[InvariantBreak]:
    """Tokens whose holders' read balances moved by more than their mint/burn events allow."""
    minted: dict[str, int] = {}
    for transfer in result.token_transfers:
        if transfer.standard not in ("ERC20", "WETH") or transfer.token is None:
            continue
        token = lower(transfer.token)
        if lower(transfer.from_) == ZERO:
            minted[token] = minted.get(token, 0) + transfer.amount
        if lower(transfer.to) == ZERO:
            minted[token] = minted.get(token, 0) - transfer.amount
    read: dict[str, int] = {}
    breaks: list[InvariantBreak] = []
    for change in result.balance_changes:
        if change.asset == "ETH" or change.before is None or change.after is None:
            continue
        token = lower(change.asset)
        if lower(change.address) != ZERO:
            read[token] = read.get(token, 0) + change.delta
        if change.logged_delta is not None:
            breaks.append(
                InvariantBreak(
                    "balance_events",
                    token,
                    f"{change.address}'s balance of {token} moved by {change.delta}, its Transfer "
                    f"events say {change.logged_delta}",
                )
            )
    for token, grown in read.items():
        if grown > minted.get(token, 0):
            breaks.append(
                InvariantBreak(
                    "supply",
                    token,
                    f"holders of {token} gained {grown} in total, but its events minted (net) "
                    f"only {minted.get(token, 0)}",
                )
            )
    return breaks


def share_price_breaks(result: ReplayResult) -> list[InvariantBreak]:
    """Vaults whose redeem rate (underlying out per share burned) beat their mint rate.

    A mint or burn of share token S is paired with the underlying moved between the holder and
    the vault (the contract whose frame called S, or S itself) in that frame's subtree."""
    rates: dict[str, dict[str, list[Fraction]]] = {}
    for visit in visits(result.trace):
        frame = visit.frame
        if not succeeded(frame) or visit.static:
            continue
        for log in frame.logs:
            moved = erc20_transfer(log)
            if moved is None or ZERO not in moved[:2] or moved[2] == 0:
                continue
            source, target, shares = moved
            share = lower(log.address)
            parent = visit.ancestors[-1][1] if visit.ancestors else frame
            vault = context_of(parent)
            holder = target if source == ZERO else source
            paid = _underlying(parent, vault, holder, share)
            if paid is None:
                continue
            side = "mint" if source == ZERO else "burn"
            rates.setdefault(vault, {}).setdefault(side, []).append(Fraction(paid, shares))
    breaks: list[InvariantBreak] = []
    for vault, sides in rates.items():
        if not sides.get("mint") or not sides.get("burn"):
            continue
        cheapest, richest = min(sides["mint"]), max(sides["burn"])
        if cheapest and richest >= cheapest * SHARE_PRICE_JUMP:
            breaks.append(
                InvariantBreak(
                    "share_price",
                    vault,
                    f"{vault} minted shares at {float(cheapest):.6g} underlying per share and "
                    f"redeemed them at {float(richest):.6g} in the same transaction",
                )
            )
    return breaks


def _underlying(frame_root: CallFrame, vault: str, holder: str, share: str) -> int | None:
    """Underlying (ETH or ERC-20s other than the share) moved between holder and vault."""
    total = 0
    for visit in visits(frame_root):
        inner = visit.frame
        if not succeeded(inner) or visit.static:
            continue
        if inner.value and inner.type == "CALL":
            pair = (lower(inner.from_), lower(inner.to))
            if pair in ((vault, holder), (holder, vault)):
                total += inner.value
        for log in inner.logs:
            moved = erc20_transfer(log)
            if moved is None or lower(log.address) == share:
                continue
            if (moved[0], moved[1]) in ((vault, holder), (holder, vault)):
                total += moved[2]
    return total or None


def invariant_breaks(result: ReplayResult) -> list[InvariantBreak]:
    """Every invariant break the replay shows."""
    return [*supply_breaks(result), *share_price_breaks(result)]
