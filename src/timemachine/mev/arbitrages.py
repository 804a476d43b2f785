"""Arbitrages: a route of swaps in one transaction that returns the start token to its sender.

Two shapes cover nearly all of them: fully routed (bot → A/B → B/C → C/A → bot) and bot-returning
(bot → A/B → bot → B/C → bot …). A start swap pairs with every end swap that gives its input token
back to its sender; the shortest chain of matching swaps (each output feeding the next input within
1%) between them is the route. Profit is end amount - start amount of the start token; if any swap
on the route failed, the arbitrage carries that error (it is reported, marked, not dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from timemachine.mev.models import Arbitrage, Swap

MAX_AMOUNT_DIFFERENCE = 0.01


def get_arbitrages(swaps: Sequence[Swap]) -> list[Arbitrage]:
    ordered = sorted(swaps, key=lambda s: (s.transaction_position, s.transaction_hash))
    found: list[Arbitrage] = []
    for _, group in groupby(ordered, key=lambda s: s.transaction_hash):
        found.extend(_transaction_arbitrages(list(group)))
    return found


def _equal_within(first: int, second: int, threshold: float) -> bool:
    if first == second:
        return True
    return abs((first - second) / (0.5 * (first + second))) < threshold


def _feeds(out: Swap, into: Swap) -> bool:
    return (
        out.token_out_address == into.token_in_address
        and (
            out.contract_address == into.from_address
            or out.to_address in (into.contract_address, into.from_address)
        )
        and _equal_within(out.token_out_amount, into.token_in_amount, MAX_AMOUNT_DIFFERENCE)
    )


def _start_ends(swaps: list[Swap]) -> list[tuple[Swap, list[Swap]]]:
    pools = {swap.contract_address for swap in swaps}
    pairs: list[tuple[Swap, list[Swap]]] = []
    for index, start in enumerate(swaps):
        if start.from_address in pools:
            continue
        ends = [
            end
            for other, end in enumerate(swaps)
            if other != index
            and start.token_in_address == end.token_out_address
            and start.contract_address != end.contract_address
            and start.from_address == end.to_address
        ]
        if ends:
            pairs.append((start, ends))
    return pairs


def _shortest_route(
    start: Swap, ends: list[Swap], candidates: list[Swap], max_length: int | None = None
) -> list[Swap] | None:
    if not ends or (max_length is not None and max_length < 2):
        return None
    for end in ends:
        if _feeds(start, end):
            return [start, end]
    if max_length == 2:
        return None
    end_ids = {id(end) for end in ends}
    others = [s for s in candidates if s is not start and id(s) not in end_ids]
    best: list[Swap] | None = None
    remaining = None if max_length is None else max_length - 1
    for following in others:
        if _feeds(start, following):
            route = _shortest_route(following, ends, others, remaining)
            if route is not None and (best is None or len(route) < len(best)):
                best = route
                remaining = len(route) - 1
    return None if best is None else [start, *best]


def _transaction_arbitrages(swaps: list[Swap]) -> list[Arbitrage]:
    found: list[Arbitrage] = []
    used: set[int] = set()
    for start, ends in _start_ends(swaps):
        if id(start) in used:
            continue
        route = _shortest_route(start, [end for end in ends if id(end) not in used], swaps)
        if route is None:
            continue
        error = None
        for swap in route:
            if swap.error is not None:
                error = swap.error
        found.append(
            Arbitrage(
                swaps=route,
                block_number=route[0].block_number,
                transaction_hash=route[0].transaction_hash,
                account_address=route[0].from_address,
                profit_token_address=route[0].token_in_address,
                start_amount=route[0].token_in_amount,
                end_amount=route[-1].token_out_amount,
                profit_amount=route[-1].token_out_amount - route[0].token_in_amount,
                error=error,
                protocols=sorted({swap.protocol for swap in route}),
            )
        )
        used.update(id(swap) for swap in route)
    if len(found) <= 1:
        return found
    return [a for a in found if a.swaps[0].trace_address < a.swaps[-1].trace_address]
