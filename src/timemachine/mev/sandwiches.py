"""Sandwiches: a searcher's swap, victims' swaps in the same pool and direction, then the
searcher's swap back, in later transactions of the block.

The two legs need not match in size. `kind` says how they compare (in units of the token the
front-run bought): balanced, front_heavy (the back-run sells less; the rest stays with the
searcher) or back_heavy (it sells more, from inventory). Profit is measured on the matched
quantity min(bought, sold), pro rata on the larger leg, so it is never inflated by inventory
moved in or out: for a balanced sandwich it equals mev-inspect-py's back-run out - front-run in.
"""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.mev.models import Sandwich, SandwichKind, Swap

# Routers are never the searcher: their swaps belong to whoever called them.
ROUTERS = frozenset(
    {
        "0x7a250d5630b4cf539739df2c5dacb4c659f2488d",  # Uniswap V2 Router02
        "0xe592427a0aece92de3edee1f18e0157c05861564",  # Uniswap V3 SwapRouter
        "0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45",  # Uniswap V3 SwapRouter02
    }
)


def get_sandwiches(swaps: Sequence[Swap]) -> list[Sandwich]:
    ordered = sorted(swaps, key=lambda s: (s.transaction_position, s.trace_address))
    found: list[Sandwich] = []
    for index, front in enumerate(ordered):
        sandwich = _starting_with(front, ordered[index + 1 :])
        if sandwich is not None:
            found.append(sandwich)
    return found


def _starting_with(front: Swap, rest: Sequence[Swap]) -> Sandwich | None:
    searcher = front.to_address
    if searcher in ROUTERS:
        return None
    victims: list[Swap] = []
    for other in rest:
        if other.transaction_hash == front.transaction_hash:
            continue
        if other.contract_address != front.contract_address:
            continue
        if (
            other.token_in_address == front.token_in_address
            and other.token_out_address == front.token_out_address
            and other.from_address != searcher
        ):
            victims.append(other)
        elif (
            other.token_out_address == front.token_in_address
            and other.token_in_address == front.token_out_address
            and other.from_address == searcher
            and victims
        ):
            return build_sandwich(front, other, victims)
    return None


def build_sandwich(front: Swap, back: Swap, victims: list[Swap]) -> Sandwich:
    bought, sold = front.token_out_amount, back.token_in_amount
    kind: SandwichKind
    if sold == bought:
        kind, matched = "balanced", bought
        profit = back.token_out_amount - front.token_in_amount
        why = "back-run out - front-run in"
    elif sold < bought:
        kind, matched = "front_heavy", sold
        cost = front.token_in_amount * sold // bought
        profit = back.token_out_amount - cost
        why = f"back-run out - front-run in x {sold}/{bought} (the share of the buy that was sold)"
    else:
        kind, matched = "back_heavy", bought
        revenue = back.token_out_amount * bought // sold
        profit = revenue - front.token_in_amount
        why = (
            f"back-run out x {bought}/{sold} (the share of the sale that was bought) - front-run in"
        )
    return Sandwich(
        block_number=front.block_number,
        sandwicher_address=front.to_address,
        frontrun_swap=front,
        backrun_swap=back,
        sandwiched_swaps=victims,
        profit_token_address=front.token_in_address,
        profit_amount=profit,
        kind=kind,
        matched_amount=matched,
        profit_explanation=why,
    )
