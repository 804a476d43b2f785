"""Valuing MEV profits in ETH: WETH as itself, other tokens only through a price source (a
user's price file here; the on-chain pair adapter is tested on the devnet), else unpriced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.mev_traces import tx_hash
from tests.unit.test_mev_inspectors import SEARCHER, TOKEN, VICTIM, WETH, inspect, v2_leg
from timemachine.cli.main import app
from timemachine.errors import MevInputError
from timemachine.mev.models import BlockInspection
from timemachine.mev.prices import StaticPrices, valued


def token_profit_sandwich() -> BlockInspection:
    """A sandwich whose profit is 7 base units of TOKEN (searcher pays TOKEN, gets it back)."""
    return inspect(
        [
            *v2_leg(tx_hash(1), 0, SEARCHER, (TOKEN, 100), (WETH, 10)),
            *v2_leg(tx_hash(2), 1, VICTIM, (TOKEN, 50), (WETH, 4)),
            *v2_leg(tx_hash(3), 2, SEARCHER, (WETH, 10), (TOKEN, 107)),
        ]
    )


def price_file(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(content))
    return path


async def test_without_a_price_a_token_profit_stays_a_token_amount() -> None:
    sandwich = token_profit_sandwich().summary.by_type["sandwich"]
    assert (sandwich.count, sandwich.profit) == (1, {TOKEN: 7})
    assert (sandwich.profit_eth, sandwich.priced, sandwich.unpriced) == (0, {}, [TOKEN])


async def test_a_price_file_values_token_profits_exactly(tmp_path: Path) -> None:
    prices = StaticPrices.from_file(price_file(tmp_path, {TOKEN.upper(): ["3", 2]}))
    result = await valued(token_profit_sandwich(), prices)
    sandwich = result.summary.by_type["sandwich"]
    assert sandwich.profit == {TOKEN: 7}
    assert sandwich.profit_eth == 10  # 7 x 3 / 2, rounded toward zero
    assert (sandwich.priced, sandwich.unpriced) == ({TOKEN: "price file prices.json"}, [])
    # WETH needs no price; a token the file does not list is left unpriced
    other = await valued(token_profit_sandwich(), StaticPrices.from_file(
        price_file(tmp_path, {WETH: [1, 1]})))  # fmt: skip
    assert other.summary.by_type["sandwich"].unpriced == [TOKEN]
    assert other.summary.by_type["sandwich"].profit_eth == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not valid JSON"),
        ("[1, 2]", 'expected {"0xtoken": [wei, units], ...}'),
        ('{"0xabc": 5}', "the price of 0xabc is not [wei, units]"),
        ('{"0xabc": [1, 0]}', "needs wei >= 0 and units > 0"),
    ],
)
def test_bad_price_files_are_one_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(MevInputError, match=message.replace("[", r"\[").replace("{", r"\{")):
        StaticPrices.from_file(path)
    with pytest.raises(MevInputError, match="cannot read"):
        StaticPrices.from_file(tmp_path / "missing.json")


def test_cli_prices_option_values_the_summary(tmp_path: Path) -> None:
    traces = [
        *v2_leg(tx_hash(1), 0, SEARCHER, (TOKEN, 100), (WETH, 10)),
        *v2_leg(tx_hash(2), 1, VICTIM, (TOKEN, 50), (WETH, 4)),
        *v2_leg(tx_hash(3), 2, SEARCHER, (WETH, 10), (TOKEN, 107)),
    ]
    block = tmp_path / "100.json"
    block.write_text(json.dumps({"block_number": 100, "traces": traces}))
    prices = price_file(tmp_path, {TOKEN: [3, 2]})
    args = ["mev", "inspect", "-f", str(block), "--json"]
    plain = CliRunner().invoke(app, args)
    valued_run = CliRunner().invoke(app, [*args, "--prices", str(prices)])
    assert (plain.exit_code, valued_run.exit_code) == (0, 0), valued_run.output
    before = json.loads(plain.stdout)["blocks"][0]["summary"]["by_type"]["sandwich"]
    after = json.loads(valued_run.stdout)["blocks"][0]["summary"]["by_type"]["sandwich"]
    assert (before["profit_eth"], before["unpriced"]) == (0, [TOKEN])
    assert (after["profit_eth"], after["unpriced"]) == (10, [])
    both = CliRunner().invoke(app, [*args, "--prices", str(prices), "--pair-prices", "-r", "x"])
    assert both.exit_code == 2
    assert "not both" in both.output
