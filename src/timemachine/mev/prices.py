"""Valuing MEV profits in ETH: ETH and WETH count as themselves; another profit token is valued
only where a price source prices it, otherwise it stays a token amount (never an invented price).

`PriceSource` adapters: `StaticPrices` (a JSON file the user gives: `{"0xtoken": [wei, units]}`,
`units` base units of the token being worth `wei` wei) and `PairPrices` (the mid price of a
Uniswap V2-style pair of the token with the wrapped native token, among the pools the block's
swaps went through, at the end of the previous block: `trace.prices.pair_prices`, the same
reading `analysis.profit` values exploit profits with).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from timemachine.errors import InvalidInputError, MevInputError
from timemachine.mev.inspect import summarize
from timemachine.mev.models import BlockInspection, EthPrice
from timemachine.trace.balances import EthCaller
from timemachine.trace.prices import pair_prices


class PriceSource(Protocol):
    async def prices(self, inspection: BlockInspection) -> dict[str, EthPrice]:
        """Prices of (some of) the tokens the inspection's profits are in, by lower-case
        address; a token left out is reported unpriced."""
        ...


def profit_tokens(inspection: BlockInspection) -> list[str]:
    """The tokens the block's arbitrages and sandwiches made profit in."""
    tokens = [a.profit_token_address for a in inspection.arbitrages]
    tokens += [s.profit_token_address for s in inspection.sandwiches]
    return sorted(set(tokens))


class StaticPrices:
    """Prices from a user's file: `{"0xTOKEN": [wei, units], ...}` (integers or decimal strings)."""

    def __init__(self, prices: Mapping[str, EthPrice]) -> None:
        self.table = {token.lower(): price for token, price in prices.items()}

    @classmethod
    def from_file(cls, path: Path) -> StaticPrices:
        try:
            document = json.loads(path.read_bytes())
        except OSError as error:
            raise MevInputError(f"cannot read {path}: {error.strerror or error}") from None
        except ValueError as error:
            raise MevInputError(f"{path} is not valid JSON: {error}") from None
        if not isinstance(document, dict):
            raise MevInputError(f'{path}: expected {{"0xtoken": [wei, units], ...}}')
        table: dict[str, EthPrice] = {}
        for token, pair in document.items():
            try:
                wei, units = (int(value) for value in pair)
            except (TypeError, ValueError):
                raise MevInputError(
                    f"{path}: the price of {token} is not [wei, units] (two integers)"
                ) from None
            if wei < 0 or units <= 0:
                raise MevInputError(f"{path}: the price of {token} needs wei >= 0 and units > 0")
            table[token] = EthPrice(wei, units, f"price file {path.name}")
        return cls(table)

    async def prices(self, inspection: BlockInspection) -> dict[str, EthPrice]:
        return {t: self.table[t] for t in profit_tokens(inspection) if t in self.table}


class PairPrices:
    """Mid prices of V2-style pairs with `wrapped_native` among the block's swap pools, read at
    the end of the previous block (before any of the block's trades moved them)."""

    def __init__(self, caller: EthCaller, wrapped_native: str) -> None:
        self.caller = caller
        self.wrapped_native = wrapped_native.lower()

    async def prices(self, inspection: BlockInspection) -> dict[str, EthPrice]:
        tokens = [t for t in profit_tokens(inspection) if t != self.wrapped_native]
        found: dict[str, EthPrice] = {}
        if self.wrapped_native in profit_tokens(inspection):
            found[self.wrapped_native] = EthPrice(1, 1, "wrapped native token")
        pools = sorted({swap.contract_address for swap in inspection.swaps})
        if not tokens or not pools:
            return found
        block = hex(max(inspection.block_number - 1, 0))
        for price in await pair_prices(self.caller, pools, tokens, self.wrapped_native, block):
            found[price.token.lower()] = EthPrice(
                price.reserve_native,
                price.reserve_token,
                f"V2 pair {price.pair.lower()} mid price at block {int(block, 16)}",
            )
        return found


def pair_price_token(chain_id: int, given: str | None = None) -> str:
    """The token pairs price against: `given`, else the chain's known wrapped native token."""
    from timemachine.chain.registry import get_chain

    token = given or get_chain(chain_id).wrapped_native
    if token is None:
        raise InvalidInputError(
            f"chain {chain_id} has no known wrapped native token to price pairs against; "
            "name one, or value profits with a price file"
        )
    return token.lower()


async def valued(inspection: BlockInspection, source: PriceSource) -> BlockInspection:
    """The inspection with its summary's profits valued through `source`."""
    summary = summarize(
        inspection.arbitrages,
        inspection.sandwiches,
        inspection.liquidations,
        inspection.jit_liquidity,
        inspection.miner_payments,
        inspection.miner_address,
        prices=await source.prices(inspection),
    )
    return inspection.model_copy(update={"summary": summary})
