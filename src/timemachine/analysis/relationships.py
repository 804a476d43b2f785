"""Who paid whom, and what entitled them: the facts value extraction and missing access control
rest on.

An extraction is value a contract held that went, net, to the attacker side (`attacker_addresses`)
in this transaction, although the receiver had no visible relationship with the contract: it did
not create it in this transaction, no storage word of the contract held the receiver's address
before the transaction (a role or owner slot the state diff shows), the contract checked no
signature (ecrecover / ERC-1271) and debited no stored claim of exactly the amount paid, and the
receiver gave nothing in return — or, when it did (a swap, a liquidation), what it gave was worth
well under what it took at the pre-transaction prices the replay knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

from eth_utils.crypto import keccak

from timemachine.analysis.evidence import (
    ECRECOVER,
    balance_before,
    context_of,
    deltas,
    is_precompile,
    losses_of,
    lower,
    path_text,
    per_last_result,
    succeeded,
    visits,
)
from timemachine.analysis.invariants import ZERO
from timemachine.analysis.profit import attacker_addresses
from timemachine.analysis.token_moves import erc20_transfer
from timemachine.chain.registry import get_chain
from timemachine.models.analysis import Amount
from timemachine.models.replay import ReplayResult

IS_VALID_SIGNATURE = "0x1626ba7e"
MAPPING_SLOTS = 64
"""Declaration slots searched for a mapping keyed by an address (Solidity and Vyper layouts)."""
DRAINED = Fraction(9, 10)
UNFAIR = Fraction(1, 4)
"""An exchange is unfair when the receiver's net take exceeds this share of what it received."""


@dataclass
class Extraction:
    """Value `contract` lost, net, to the attacker side with no relationship behind it."""

    contract: str
    taken: dict[str, int]
    """Net amount per asset that went from the contract to the attacker side."""
    receivers: list[str]
    value_eth: int
    """The part of `taken` the replay can price, in wei (0 when nothing is priced)."""
    entry_frames: list[tuple[int, ...]] = field(default_factory=list)
    """Frames of the contract the attacker side called directly."""
    gave: dict[str, int] = field(default_factory=dict)
    authorized: bool = False
    debited: bool = False
    role_holder: bool = False
    claim_holder: bool = False
    """A receiver had a stored claim on the contract before the tx (a deposit, shares)."""
    exchanged: bool = False
    """The contract gained something in return the replay cannot show to be worth well under
    what it lost (a swap, a liquidation, a loan against collateral): no extraction by itself."""
    unfair_exchange: bool = False
    """The receivers gave something back, worth well under what they took."""
    drained: bool = False
    """The contract lost at least `DRAINED` of what it held of an asset taken."""

    @property
    def parties(self) -> list[str]:
        """The contract, then the receivers: the addresses a finding about this names."""
        return [self.contract, *self.receivers]

    @property
    def paid(self) -> list[Amount]:
        """What the contract lost, one evidence amount per asset."""
        return [Amount(address=self.contract, asset=a, amount=v) for a, v in self.taken.items()]

    @property
    def entry_texts(self) -> list[str]:
        """The first ten frames the attacker side entered the contract by, as path texts."""
        return [path_text(path) for path in self.entry_frames[:10]]

    @property
    def entitled(self) -> bool:
        return self.authorized or self.debited or self.role_holder or self.claim_holder

    @property
    def suspicious(self) -> bool:
        """Unentitled, and either an unfair exchange or a drain (a user's own withdrawal takes
        a share of the pool, not nearly all of it)."""
        return not self.entitled and not self.exchanged and (self.unfair_exchange or self.drained)


def _wei_prices(result: ReplayResult) -> dict[str, Fraction]:
    """Wei per base unit of each asset the replay prices (ETH, wrapped native, pair mid price)."""
    prices: dict[str, Fraction] = {"ETH": Fraction(1)}
    wrapped = get_chain(result.chain_id).wrapped_native
    if wrapped:
        prices[lower(wrapped)] = Fraction(1)
    for price in result.token_prices:
        if price.reserve_token:
            prices[lower(price.token)] = Fraction(price.reserve_native, price.reserve_token)
    return prices


def value_in_wei(result: ReplayResult, amounts: dict[str, int]) -> tuple[int, bool]:
    """(wei value of the priced part, whether every asset was priced)."""
    prices = _wei_prices(result)
    total, complete = Fraction(0), True
    for asset, amount in amounts.items():
        price = prices.get(asset)
        if price is None:
            complete = False
        else:
            total += price * amount
    return int(total), complete


def _storage_words(result: ReplayResult, contract: str) -> dict[str, tuple[int, int]]:
    words: dict[str, tuple[int, int]] = {}
    for account, state in result.state_diff.pre.items():
        if lower(account) != contract:
            continue
        for slot, before in state.storage.items():
            words[slot] = (int(before, 16), 0)
    for account, state in result.state_diff.post.items():
        if lower(account) != contract:
            continue
        for slot, after in state.storage.items():
            words[slot] = (words.get(slot, (0, 0))[0], int(after, 16))
    return words


def held_address(result: ReplayResult, contract: str, address: str) -> bool:
    """Whether a storage word of `contract` the diff shows held `address` before the tx."""
    target = int(address, 16)
    return any(
        before & (2**160 - 1) == target for before, _ in _storage_words(result, contract).values()
    )


@lru_cache(maxsize=1024)
def mapping_slots(address: str) -> frozenset[int]:
    """Storage slots of `mapping(address => ...)` entries keyed by `address`, for mappings
    declared in the first `MAPPING_SLOTS` slots: keccak(key . slot) (Solidity) and
    keccak(slot . key) (Vyper)."""
    key = int(address, 16).to_bytes(32, "big")
    slots: set[int] = set()
    for declared in range(MAPPING_SLOTS):
        position = declared.to_bytes(32, "big")
        slots.add(int.from_bytes(keccak(key + position), "big"))
        slots.add(int.from_bytes(keccak(position + key), "big"))
    return frozenset(slots)


def claim_changes(result: ReplayResult, contract: str, address: str) -> list[tuple[int, int]]:
    """(before, after) of `address`'s entries in address-keyed mappings of `contract` that the
    tx changed (see `mapping_slots`)."""
    keyed = mapping_slots(address)
    return [
        words for slot, words in _storage_words(result, contract).items() if int(slot, 16) in keyed
    ]


def held_claim(result: ReplayResult, contract: str, address: str) -> bool:
    """Whether `address`'s entry in an address-keyed mapping of `contract` was non-zero before
    the tx and changed in it: a balance, deposit or share record the tx settled."""
    return any(before for before, _ in claim_changes(result, contract, address))


def debited(result: ReplayResult, contract: str, amounts: dict[str, int]) -> bool:
    """Whether a storage word of `contract` fell by exactly one of the amounts paid out."""
    wanted = set(amounts.values())
    return any(
        before - after in wanted for before, after in _storage_words(result, contract).values()
    )


def created_in_tx(result: ReplayResult) -> set[str]:
    return {
        lower(visit.frame.to)
        for visit in visits(result.trace)
        if visit.frame.type in ("CREATE", "CREATE2") and succeeded(visit.frame)
    }


def _authorized(result: ReplayResult, contract: str) -> bool:
    """Whether a frame of `contract` verified a signature (ecrecover or ERC-1271)."""
    for visit in visits(result.trace):
        frame = visit.frame
        if not visit.ancestors or not succeeded(frame):
            continue
        caller = context_of(visit.ancestors[-1][1])
        if caller == contract and (
            lower(frame.to) == ECRECOVER or frame.selector == IS_VALID_SIGNATURE
        ):
            return True
    return False


@per_last_result
def extractions(result: ReplayResult) -> list[Extraction]:
    """Every contract that lost value, net, to the attacker side (entitled or not, exchanged or
    not: see the flags); largest priced value first. Remembered for the last result asked."""
    attackers = set(attacker_addresses(result))
    created = created_in_tx(result)
    coinbase = lower(result.block_env.coinbase)
    out: dict[str, dict[str, int]] = {}
    back: dict[str, dict[str, int]] = {}
    deposited: dict[str, dict[str, int]] = {}
    """What third parties paid each contract in the tx: value it held, if only for a moment."""
    receivers: dict[str, list[str]] = {}
    for transfer in result.token_transfers:
        asset = "ETH" if transfer.standard == "ETH" else lower(transfer.token)
        source, target = lower(transfer.from_), lower(transfer.to)
        if source not in attackers and target in attackers:
            table = out.setdefault(source, {})
            table[asset] = table.get(asset, 0) + transfer.amount
            receivers.setdefault(source, [])
            if target not in receivers[source]:
                receivers[source].append(target)
        elif source in attackers and target not in attackers:
            table = back.setdefault(target, {})
            table[asset] = table.get(asset, 0) + transfer.amount
        elif source != ZERO and target not in attackers:
            table = deposited.setdefault(target, {})
            table[asset] = table.get(asset, 0) + transfer.amount
    net = deltas(result)
    burned = _burns_inside(result, attackers)
    found: list[Extraction] = []
    for contract, paid in out.items():
        if contract in (coinbase, ZERO) or contract in created or is_precompile(contract):
            continue
        lost = losses_of(result, contract)
        gave = dict(back.get(contract, {}))
        for token, amount in burned.get(contract, {}).items():
            gave[token] = gave.get(token, 0) + amount
        held = deposited.get(contract, {})
        taken = {
            asset: min(amount - gave.get(asset, 0), lost.get(asset, 0) + held.get(asset, 0))
            for asset, amount in paid.items()
            if (asset in lost or asset in held) and amount > gave.get(asset, 0)
        }
        if not taken:
            continue
        value, _ = value_in_wei(result, taken)
        # Net value flows: whatever the contract gained over the tx (from anyone) paid for it.
        others = {asset: delta for asset, delta in net.get(contract, {}).items() if delta > 0}
        for asset, amount in gave.items():
            if asset not in paid:
                others[asset] = max(others.get(asset, 0), amount)
        exchanged = False
        if others:
            given, complete = value_in_wei(result, others)
            if not complete or value == 0 or (value - given) < UNFAIR * value:
                exchanged = True  # an exchange the replay cannot show to be unfair
            else:
                value -= given
        found.append(
            Extraction(
                contract=contract,
                taken=taken,
                receivers=receivers[contract],
                value_eth=value,
                entry_frames=_entries(result, contract, attackers),
                gave=gave,
                authorized=_authorized(result, contract),
                debited=debited(result, contract, taken),
                role_holder=any(held_address(result, contract, r) for r in receivers[contract]),
                claim_holder=any(held_claim(result, contract, r) for r in receivers[contract]),
                exchanged=exchanged,
                unfair_exchange=bool(others) and not exchanged,
                drained=_drained(result, contract, taken),
            )
        )
    return sorted(found, key=lambda item: -item.value_eth)


def _drained(result: ReplayResult, contract: str, taken: dict[str, int]) -> bool:
    for asset, amount in taken.items():
        held = balance_before(result, contract, asset)
        if held and amount >= DRAINED * held:  # unknown holdings (mid-block tokens): no
            return True
    return False


def _burns_inside(result: ReplayResult, attackers: set[str]) -> dict[str, dict[str, int]]:
    """Tokens the attacker side burned inside a frame of each contract: claims given up to it."""
    burned: dict[str, dict[str, int]] = {}
    for visit in visits(result.trace):
        if not succeeded(visit.frame):
            continue
        for log in visit.frame.logs:
            moved = erc20_transfer(log)
            if moved is None or moved[0] not in attackers or moved[1] != ZERO:
                continue
            for _, ancestor in (*visit.ancestors, ((), visit.frame)):
                table = burned.setdefault(context_of(ancestor), {})
                token = lower(log.address)
                table[token] = table.get(token, 0) + moved[2]
    return burned


def _entries(result: ReplayResult, contract: str, attackers: set[str]) -> list[tuple[int, ...]]:
    """Frames running `contract`'s code or storage, called directly by the attacker side."""
    entries: list[tuple[int, ...]] = []
    for visit in visits(result.trace):
        frame = visit.frame
        if frame.type not in ("CALL", "DELEGATECALL") or not succeeded(frame):
            continue
        caller = context_of(visit.ancestors[-1][1]) if visit.ancestors else lower(frame.from_)
        if context_of(frame) == contract and caller in attackers:
            entries.append(visit.path)
    return entries
