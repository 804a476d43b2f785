"""Pre-transaction token prices in the chain's wrapped native token, from V2-style pairs.

A token is priced by a Uniswap V2-style pair (token0(), token1(), getReserves()) of the token with
the wrapped native token (WETH, WBNB, ...), at its mid price reserve_native / reserve_token, read
right before the transaction. Pairs come from the trace only: the contracts the transaction
called that answer as such a pair, then `getPair(token, wrapped)` on the factory() of those pairs
for tokens none of them prices. When several pairs price a token the one holding the most of the
wrapped native token wins (the deepest market). A token no pair prices is left unpriced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode

from timemachine.hexutil import checksum
from timemachine.models import CallFrame
from timemachine.models.replay import TokenPrice
from timemachine.trace.balances import EthCall, EthCaller, eth_calls
from timemachine.trace.decoder import DECODE_ERRORS
from timemachine.trace.signatures import keccak_signature

TOKEN0 = keccak_signature("token0()")[:10]
TOKEN1 = keccak_signature("token1()")[:10]
GET_RESERVES = keccak_signature("getReserves()")[:10]
FACTORY = keccak_signature("factory()")[:10]
GET_PAIR = keccak_signature("getPair(address,address)")[:10]
MAX_CANDIDATES = 128
"""Contracts of one trace probed as pairs (in the order the trace first reaches them)."""
_ZERO = "0x" + "00" * 20


@dataclass(frozen=True)
class _Pair:
    address: str
    token0: str
    token1: str
    reserve0: int
    reserve1: int
    factory: str | None


def _address(data: bytes | None) -> str | None:
    if data is None or len(data) < 32 or any(data[:12]):
        return None
    try:
        value = str(abi_decode(["address"], data[:32])[0])
    except DECODE_ERRORS:
        return None
    return None if value.lower() == _ZERO else checksum(value)


def _reserves(data: bytes | None) -> tuple[int, int] | None:
    if data is None or len(data) < 96:
        return None
    try:
        reserve0, reserve1, _ = abi_decode(["uint112", "uint112", "uint32"], data[:96])
    except DECODE_ERRORS:
        return None
    return int(reserve0), int(reserve1)


def contracts_in(trace: CallFrame) -> list[str]:
    """Every address the trace calls or that emits a log, in first-seen order (checksummed)."""
    seen: dict[str, None] = {}
    for _, frame in trace.walk():
        if frame.to:
            seen.setdefault(checksum(frame.to), None)
        for log in frame.logs:
            seen.setdefault(checksum(log.address), None)
    return list(seen)


async def _probe(
    caller: EthCaller,
    addresses: Sequence[str],
    block: str,
    overrides: dict[str, dict[str, Any]] | None,
    *,
    with_factory: bool,
) -> list[_Pair]:
    """The addresses that answer token0(), token1() and getReserves() (reserves pre-tx)."""
    selectors = [TOKEN0, TOKEN1, GET_RESERVES, *([FACTORY] if with_factory else [])]
    requests: list[EthCall] = [
        (address, selector, overrides if selector == GET_RESERVES else None)
        for address in addresses
        for selector in selectors
    ]
    results = await eth_calls(caller, requests, block)
    pairs = []
    width = len(selectors)
    for index, address in enumerate(addresses):
        answers = results[index * width : (index + 1) * width]
        token0, token1, reserves = _address(answers[0]), _address(answers[1]), _reserves(answers[2])
        if token0 is None or token1 is None or reserves is None:
            continue
        factory = _address(answers[3]) if with_factory else None
        pairs.append(_Pair(address, token0, token1, reserves[0], reserves[1], factory))
    return pairs


def _best(
    pairs: Sequence[_Pair], tokens: Sequence[str], wrapped: str, found: Literal["trace", "factory"]
) -> dict[str, TokenPrice]:
    prices: dict[str, TokenPrice] = {}
    wanted = {token.lower() for token in tokens}
    for pair in pairs:
        sides = {pair.token0.lower(): pair.reserve0, pair.token1.lower(): pair.reserve1}
        if wrapped.lower() not in sides or len(sides) != 2:
            continue
        token = pair.token1 if pair.token0.lower() == wrapped.lower() else pair.token0
        reserve_token, reserve_native = sides[token.lower()], sides[wrapped.lower()]
        if token.lower() not in wanted or reserve_token == 0 or reserve_native == 0:
            continue
        known = prices.get(token.lower())
        if known is None or reserve_native > known.reserve_native:
            prices[token.lower()] = TokenPrice(
                token=token,
                pair=pair.address,
                wrapped_native=checksum(wrapped),
                reserve_token=reserve_token,
                reserve_native=reserve_native,
                found=found,
            )
    return prices


async def token_prices(
    caller: EthCaller,
    trace: CallFrame,
    tokens: Sequence[str],
    wrapped_native: str | None,
    block: str,
    overrides: dict[str, dict[str, Any]] | None,
    known_factories: Sequence[str] = (),
) -> list[TokenPrice]:
    """Pre-tx prices of `tokens` in `wrapped_native`, read at `block` under `overrides` (the
    state-override set that rewinds `block` to right before the transaction; None when `block`
    already is that state).

    One batched round trip probes the trace's contracts; two more (getPair on their factories and
    on the chain's `known_factories`, then the found pairs) only for tokens the touched pairs do
    not price.
    """
    if wrapped_native is None:
        return []
    wanted = sorted(
        {checksum(t) for t in tokens if t.lower() != wrapped_native.lower()}, key=str.lower
    )
    if not wanted:
        return []
    candidates = [
        address for address in contracts_in(trace) if address.lower() != wrapped_native.lower()
    ][:MAX_CANDIDATES]
    touched = await _probe(caller, candidates, block, overrides, with_factory=True)
    prices = _best(touched, wanted, wrapped_native, "trace")
    missing = [token for token in wanted if token.lower() not in prices]
    factories = sorted(
        {pair.factory for pair in touched if pair.factory} | {checksum(f) for f in known_factories},
        key=str.lower,
    )
    if missing and factories:
        lookups: list[EthCall] = [
            (
                factory,
                GET_PAIR + abi_encode(["address", "address"], [token, wrapped_native]).hex(),
                None,
            )
            for token in missing
            for factory in factories
        ]
        found = await eth_calls(caller, lookups, block)
        known = {pair.address.lower() for pair in touched}
        new_pairs = sorted(
            {
                address
                for address in (_address(answer) for answer in found)
                if address is not None and address.lower() not in known
            },
            key=str.lower,
        )
        extra = await _probe(caller, new_pairs, block, overrides, with_factory=False)
        prices |= _best(extra, missing, wrapped_native, "factory")
    return sorted(prices.values(), key=lambda price: price.token.lower())


async def pair_prices(
    caller: EthCaller,
    pairs: Sequence[str],
    tokens: Sequence[str],
    wrapped_native: str,
    block: str,
) -> list[TokenPrice]:
    """Prices of `tokens` in `wrapped_native` from the given contracts that answer as V2-style
    pairs of it, read at `block` (the deepest pair wins, as in `token_prices`)."""
    found = await _probe(caller, [checksum(p) for p in pairs], block, None, with_factory=False)
    prices = _best(found, tokens, wrapped_native, "trace")
    return sorted(prices.values(), key=lambda price: price.token.lower())
