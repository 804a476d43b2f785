"""mev-inspect-py's test expectations (../shared/fixtures/mev-inspect/EXPECTED.md) on our inspector.

The blocks are third-party data read at run time from ../shared/fixtures/mev-inspect (next to the
repo, never copied into it). Without them the tests skip with the reason; in CI (CI=true) they
fail. Every figure below is copied from EXPECTED.md and compared exactly. Counts are checked with
the reference specs only (as mev-inspect-py classifies) and with every spec (ours adds Balancer V2,
Curve crypto pools and more, which must not disturb them on these blocks).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, REPO
from timemachine.mev import inspect_block, load_block_file
from timemachine.mev.models import Block, BlockInspection, Liquidation, Swap
from timemachine.mev.tokenflow import token_flow

pytestmark = pytest.mark.conformance

FIXTURES = REPO.parent / "shared" / "fixtures" / "mev-inspect"

WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
DAI = "0x6b175474e89094c44da98b954eedeac495271d0f"
LINK = "0x514910771af9ca656af840dff83e8264ecf986ca"
ETH = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
ZEROX = "0xdef1c0ded9bec7f1a1670819833240f027b25eff"
TOKEN_25F8 = "0x25f8087ead173b73d6e8b84329989a8eea16cf73"


def _fixtures() -> Path:
    if not (FIXTURES / "EXPECTED.md").is_file():
        message = f"mev-inspect fixtures not found at {FIXTURES}"
        if IN_CI:
            pytest.fail(f"{message} (CI must not skip conformance tests)")
        pytest.skip(message)
    return FIXTURES


@cache
def _block(number: int) -> Block:
    return load_block_file(_fixtures() / "blocks" / f"{number}.json")


@cache
def _inspect(number: int, reference_only: bool = True) -> BlockInspection:
    return inspect_block(_block(number), reference_only=reference_only)


def _tx_swaps(result: BlockInspection, tx: str) -> list[Swap]:
    return [swap for swap in result.swaps if swap.transaction_hash == tx]


# ---------------------------------------------------------------- trace files themselves


def test_error_wording_and_reward_traces() -> None:
    errors: dict[str, int] = {}
    for path in sorted((_fixtures() / "blocks").glob("*.json")):
        block = load_block_file(path)
        for trace in block.traces:
            if trace.error is not None:
                errors[trace.error] = errors.get(trace.error, 0) + 1
                if trace.error != "Reverted":
                    assert trace.output is None
                    assert trace.gas_used is None
    assert errors == {"Reverted": 378, "Out of gas": 26, "Bad instruction": 1}
    rewards = [t for t in _block(12498502).traces if t.type == "reward"]
    assert len(rewards) == 2  # block reward + uncle reward
    assert not [t for t in _block(10921990).traces if t.type == "reward"]


# ---------------------------------------------------------------- arbitrage


@pytest.mark.parametrize("reference_only", [True, False])
def test_arbitrages_12914944(reference_only: bool) -> None:
    result = _inspect(12914944, reference_only)
    assert len(result.swaps) == 51
    assert len(result.arbitrages) == 2
    by_tx = {arb.transaction_hash: arb for arb in result.arbitrages}

    first = by_tx["0x448245bf1a507b73516c4eeee01611927dada6610bf26d403012f2e66800d8f0"]
    assert len(first.swaps) == 3
    assert first.profit_token_address == WETH
    assert first.profit_amount == 750005273675102326
    assert first.swaps[1].token_in_address == TOKEN_25F8
    assert first.swaps[1].token_out_address == USDC
    # Derived in EXPECTED.md from the traces:
    assert [s.contract_address for s in first.swaps] == [
        "0x99b42f2b49c395d2a77d973f6009abb5d67da343",
        "0xb9c31afc2df2cd49c2a685ff378c21eb7d115541",
        "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640",
    ]
    assert [s.token_in_amount for s in first.swaps] == [
        1200000000000000000,
        2124862372071070352457,
        4467009170,
    ]
    assert first.swaps[2].token_out_amount == 1950005273675102326
    assert (first.start_amount, first.end_amount) == (1200000000000000000, 1950005273675102326)
    assert first.account_address == "0x5e6732d6416d3f3a6574b61ef1c81316cf8d9287"
    assert [s.protocol for s in first.swaps] == ["uniswap_v2", "uniswap_v2", "uniswap_v3"]
    assert first.swaps[0].transaction_position == 6
    assert (
        len([t for t in _block(12914944).traces if t.transaction_hash == first.transaction_hash])
        == 40
    )

    second = by_tx["0xfcf4558f6432689ea57737fe63124a5ec39fd6ba6aaf198df13a825dd599bffc"]
    assert len(second.swaps) == 3
    assert second.profit_token_address == WETH
    assert second.profit_amount == 53560707941943273628
    assert second.swaps[1].token_in_address == TOKEN_25F8
    assert second.swaps[1].token_out_address == USDC
    assert [s.contract_address for s in second.swaps] == [
        "0x99b42f2b49c395d2a77d973f6009abb5d67da343",
        "0x7ec0b75a98997c927ace6d87958147a105147ea0",
        "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640",
    ]
    assert second.start_amount == 70287643212620210176
    assert second.swaps[0].token_out_amount == 197386080350317054519429
    assert second.swaps[1].token_out_amount == 283588902010
    assert second.end_amount == 123848351154563483804
    assert second.account_address == "0x0000fee6275dab194ab538a01dd8b18b02b20000"
    assert all(tuple(s.trace_address[:2]) == (0, 0) for s in second.swaps)  # flash-swap nesting
    assert second.swaps[0].transaction_position == 1
    assert (
        len([t for t in _block(12914944).traces if t.transaction_hash == second.transaction_hash])
        == 41
    )


@pytest.mark.parametrize("reference_only", [True, False])
def test_arbitrages_12483198_reverted_marked(reference_only: bool) -> None:
    result = _inspect(12483198, reference_only)
    assert len(result.swaps) == 38
    assert len(result.arbitrages) == 5
    tx = "0x23a4dc7044666d3d4cc2d394a8017fc9d6b87018c20390d35266cea1af783e8a"
    (reverted,) = [arb for arb in result.arbitrages if arb.transaction_hash == tx]
    assert reverted.error == "Reverted"
    traces = [t for t in _block(12483198).traces if t.transaction_hash == tx]
    assert len(traces) == 88
    assert traces[0].error is None
    assert len([t for t in traces if t.error]) == 6
    failed_swaps = {
        (tuple(s.trace_address), s.contract_address, s.protocol)
        for s in reverted.swaps
        if s.error == "Reverted"
    }
    assert failed_swaps <= {
        ((0, 0, 3, 9, 0), "0x0923b26b1874d76e9141450cc69241229e04914d", "uniswap_v3"),
        ((0, 0, 3, 12), "0xc3d03e4f041fd4cd388c549ee2a29a9e5075882f", "uniswap_v2"),
    }
    assert failed_swaps
    # the reverted arbitrage is marked, and left out of the block's profit summary
    assert result.summary.by_type["arbitrage"].count == 5


# ---------------------------------------------------------------- sandwich


def _reference_subset(model: Any, reference: Any) -> Any:
    """`model` reduced to the keys the reference JSON has (ours adds fields beyond it)."""
    if isinstance(reference, dict):
        return {key: _reference_subset(model[key], value) for key, value in reference.items()}
    if isinstance(reference, list):
        return [_reference_subset(m, r) for m, r in zip(model, reference, strict=True)]
    return model


@pytest.mark.parametrize("reference_only", [True, False])
def test_sandwich_12775690_equals_reference_file(reference_only: bool) -> None:
    result = _inspect(12775690, reference_only)
    assert len(result.swaps) == 21
    expected = json.loads((_fixtures() / "sandwiches" / "12775690.json").read_text())
    ours = [sandwich.model_dump(mode="json") for sandwich in result.sandwiches]
    assert len(ours) == len(expected) == 1
    assert _reference_subset(ours[0], expected[0]) == expected[0]
    (sandwich,) = result.sandwiches
    assert sandwich.sandwicher_address == "0x000000000027d2efc283613d0c3e24a8b430c4d8"
    assert (
        sandwich.profit_amount == 49991481915322274 == 12158780499164852150 - 12108789017249529876
    )
    assert sandwich.kind == "balanced"
    assert [s.transaction_position for s in sandwich.sandwiched_swaps] == [3, 4, 5, 6]
    assert {s.from_address for s in sandwich.sandwiched_swaps} == {
        "0x03f7724180aa6b939894b5ca4314783b0b36b329"
    }
    assert [s.to_address for s in sandwich.sandwiched_swaps] == [
        "0x37e17e96736aee2ca809abd91e0f8744910ca19a",
        "0xd3b7ddf9eb72837f0ee3d1d30dec0e45fbdf79b1",
        "0xcf99e104fdc46bea618d85ac5250067f19a56e41",
        "0xd7c9f3010efdff665ee72580ffa7b4141e56b17e",
    ]


# ---------------------------------------------------------------- 0x

ZEROX_SWAPS = [
    (
        13666312,
        "0xa043976d736ec8dc930c0556dffd0a86a4bfc80bf98fb7995c791fb4dc488b5d",
        2,
        [0, 2, 0, 1],
        "0x00000000000e1d0dabf7b7c7b68866fc940d0db8",
        (USDC, 143949683150),
        (WETH, 35000000000000000000),
    ),
    (
        13666184,
        "0x9255addffa2dbeb9560c5e20e78a78c949488d2054c70b2155c39f9e28394cbf",
        8,
        [0, 1],
        ZEROX,
        ("0x9ff79c75ae2bcbe0ec63c0375a3ec90ff75bbe0f", 100000001),
        (USDC, 30000000),
    ),
    (
        13666326,
        "0x1c948eb7c59ddbe6b916cf68f5df86eb44a7c9e728221fcd8ab750f137fd2a0f",
        9,
        [0, 1, 13, 0, 1],
        "0xdef171fe48cf0115b1d80b88dc8eab59176fee57",
        (WETH, 70500000000000000000),
        (USDC, 288948250430),
    ),
    (
        13666363,
        "0x4f66832e654f8a4d773d9769571155df3722401343247376d6bb56626db29b90",
        168,
        [1, 0, 1, 0, 1],
        ZEROX,
        ("0x95ad61b0a150d79219dcf64e1e6cc01f0b64c4ce", 92404351093861841165644172),
        (WETH, 979486121594935552),
    ),
]


@pytest.mark.parametrize(
    ("block", "tx", "position", "trace", "sender", "token_in", "token_out"), ZEROX_SWAPS
)
def test_zero_ex_swaps(
    block: int,
    tx: str,
    position: int,
    trace: list[int],
    sender: str,
    token_in: tuple[str, int],
    token_out: tuple[str, int],
) -> None:
    expected = Swap(
        abi_name="INativeOrdersFeature",
        transaction_hash=tx,
        transaction_position=position,
        block_number=block,
        trace_address=trace,
        contract_address=ZEROX,
        from_address=sender,
        to_address=ZEROX,
        token_in_address=token_in[0],
        token_in_amount=token_in[1],
        token_out_address=token_out[0],
        token_out_amount=token_out[1],
        protocol="0x",
        error=None,
    )
    for reference_only in (True, False):
        assert _inspect(block, reference_only).swaps.count(expected) == 1


# ---------------------------------------------------------------- liquidations


def _liquidation(
    block: int,
    tx: str,
    user: str,
    liquidator: str,
    debt: tuple[str, int],
    received: tuple[str, int],
    trace: list[int],
    protocol: str,
) -> Liquidation:
    return Liquidation(
        liquidated_user=user,
        liquidator_user=liquidator,
        debt_token_address=debt[0],
        debt_purchase_amount=debt[1],
        received_amount=received[1],
        received_token_address=received[0],
        protocol=protocol,
        transaction_hash=tx,
        trace_address=trace,
        block_number=block,
        error=None,
    )


AAVE_LIQUIDATOR_12498502 = "0x7185e240d8e9e2d692cbc68d30eecf965e9a7feb"
COMPOUND_LIQUIDATOR = "0xe0090ec6895c087a393f0e45f1f85098a6c33bef"
LIQUIDATIONS = [
    # Aave (tests/test_aave.py)
    _liquidation(
        13244807,
        "0xb7575eedc9d8cfe82c4a11cd1a851221f2eafb93d738301995ac7103ffe877f7",
        "0xd16404ca0a74a15e66d8ad7c925592fb02422ffe",
        "0x19256c009781bc2d1545db745af6dfd30c7e9cfa",
        (USDT, 26503300291),
        (WETH, 8182733924513576561),
        [1, 1, 6],
        "aave",
    ),
    _liquidation(
        10921991,
        "0xe6c0e3ef0436cb032e1ef292141f4fc4dcd47a75a2559602133114952190e76b",
        "0x8d8d912fe4db5917da92d14fea05225b803c359c",
        "0xf2d9e54f0e317b8ac94825b2543908e7552fe9c7",
        (USDT, 1069206535),
        ("0x80fb784b7ed66730e8b1dbd9820afd29931aab03", 2657946947610159065393),
        [0, 7, 1, 0, 6],
        "aave",
    ),
    _liquidation(
        13376024,
        "0xde551a73e813f1a1e5c843ac2c6a0e40d71618f4040bb7d0cd7cf7b2b6cf4633",
        "0x3d2b6eacd1bca51af57ed8b3ff9ef0bd8ee8c56d",
        "0x887668f2dc9612280243f2a6ef834cecf456654e",
        (WETH, 767615458043667978),
        ("0xa06bc25b5805d5f8d82847d191cb4af5a3e873e0", 113993647930952952550),
        [2],
        "aave",
    ),
    _liquidation(
        12498502,
        "0xedd062c3a728db4b114f2e83cac281d19a9f753e36afa8a35cdbdf1e1dd5d017",
        "0x6c6541ae8a7c6a6f968124a5ff2feac8f0c7875b",
        AAVE_LIQUIDATOR_12498502,
        ("0x4fabb145d64652a948d72533023f6e7a623c7c53", 228905512631913119672),
        (LINK, 10111753901939162887),
        [],
        "aave",
    ),
    _liquidation(
        12498502,
        "0x18492f250cf4735bd67a21c6cc26b7d9c59cf2fb077356dc924f36bc68a810e5",
        "0x6c6541ae8a7c6a6f968124a5ff2feac8f0c7875b",
        AAVE_LIQUIDATOR_12498502,
        ("0x0000000000085d4780b73119b644ae5ecd22b376", 497030000000000000000),
        (LINK, 21996356316098208090),
        [],
        "aave",
    ),
    _liquidation(
        12498502,
        "0x191b05b28ebaf460e38e90ac6a801681b500f169041ae83a45b32803ef2ec98c",
        "0xda874f844389df33c0fad140df4970fe1b366726",
        AAVE_LIQUIDATOR_12498502,
        ("0x57ab1ec28d129707052df4df418d58a2d46d5f51", 447810000000000000000),
        ("0x9f8f72aa9304c8b593d555f12ef6589cc3a579a2", 121531358145247546),
        [],
        "aave",
    ),
    _liquidation(
        13302365,
        "0xf687fedbc4bbc25adb3ef3a35c20c38fb7d35d86d7633d5061d2e3c4f86311b7",
        "0xad346c7762f74c78da86d2941c6eb546e316fbd0",
        "0x27239549dd40e1d60f5b80b0c4196923745b1fd2",
        (LINK, 1809152000000000000),
        (ETH, 15636807387264000),
        [2, 3, 2],
        "aave",
    ),
    _liquidation(
        13302365,
        "0xf687fedbc4bbc25adb3ef3a35c20c38fb7d35d86d7633d5061d2e3c4f86311b7",
        "0xad346c7762f74c78da86d2941c6eb546e316fbd0",
        "0x27239549dd40e1d60f5b80b0c4196923745b1fd2",
        (LINK, 1040737791751147957),
        (ETH, 8995273139160873),
        [2, 4, 2],
        "aave",
    ),
    # Compound v2 (tests/test_compound.py)
    _liquidation(
        13234998,
        "0x78f7e67391c2bacde45e5057241f8b9e21a59330bce4332eecfff8fac279d090",
        "0xb5535a3681cf8d5431b8acfd779e2f79677ecce9",
        COMPOUND_LIQUIDATOR,
        (ETH, 268066492249420078),
        ("0x39aa39c021dfbae8fac545936693ac917d5e7563", 4747650169097),
        [1],
        "compound_v2",
    ),
    _liquidation(
        13207907,
        "0x42a575e3f41d24f3bb00ae96f220a8bd1e24e6a6282c2e0059bb7820c61e91b1",
        "0x45df6f00166c3fb77dc16b9e47ff57bc6694e898",
        COMPOUND_LIQUIDATOR,
        (ETH, 414547860568297082),
        ("0x35a18000230da775cac24873d00ff85bccded550", 321973320649),
        [1],
        "compound_v2",
    ),
    _liquidation(
        13298725,
        "0x22a98b27a1d2c4f3cba9d65257d18ee961d6c98f21c7eade37da0543847eb654",
        "0xacbcf5d2970eef25f02a27e9d9cd31027b058b9b",
        COMPOUND_LIQUIDATOR,
        (ETH, 1106497772527562662),
        ("0x35a18000230da775cac24873d00ff85bccded550", 910895850496),
        [1],
        "compound_v2",
    ),
    _liquidation(
        13326607,
        "0x012215bedd00147c58e1f59807664914b2abbfc13c260190dc9cfc490be3e343",
        "0xacdd5528c1c92b57045041b5278efa06cdade4d8",
        COMPOUND_LIQUIDATOR,
        (USDC, 1207055531),
        ("0x70e36f6bf80a52b3b46b3af8e106cc0ed743e8e4", 21459623305),
        [1],
        "compound_v2",
    ),
    # CREAM (tests/test_cream.py)
    _liquidation(
        13404932,
        "0xf5f3df6ec9b51e8e88d0d9078b04373742294530b6bcb9be045525fcab71b915",
        "0x44f9636ef615a73688a84da1d714a40be503157d",
        "0x949ed86c385d191e96af136e2024d96e467d7651",
        (ETH, 1002704779407853614),
        ("0x2db6c82ce72c8d7d770ba1b5f5ed0b6e075066d6", 417926832636968),
        [1, 0, 5, 1],
        "cream",
    ),
    _liquidation(
        12674514,
        "0x0809bdbbddcf566e5392682a9bd9d0006a92a4dc441163c791b1136f982994b1",
        "0x46bf9479dc569bc796b7050344845f6564d45fba",
        "0xa2863cad9c318669660eb4eca8b3154b90fb4357",
        (LINK, 14857434973806369550),
        ("0x44fbebd2f576670a6c33f6fc0b00aa8c5753b322", 1547215810826),
        [],
        "cream",
    ),
]


@pytest.mark.parametrize(
    "expected",
    LIQUIDATIONS,
    ids=[f"{x.block_number}-{x.transaction_hash[:10]}-{x.trace_address}" for x in LIQUIDATIONS],
)
def test_liquidations(expected: Liquidation) -> None:
    for reference_only in (True, False):
        assert expected in _inspect(expected.block_number, reference_only).liquidations


@pytest.mark.parametrize(
    ("block", "tx", "user", "liquidator", "debt", "received", "trace"),
    [
        # Old, removed mev-inspect tests, kept in EXPECTED.md: 13179291 (trace not given), 13370850
        (
            13179291,
            "0x7369b6c1e1b15a761cad3e618b4df2eb84747c58fa34230e752cc2eaf241c493",
            "0xbec69dfce4c1fa8b7843fee1ca85788d84a86b06",
            "0x19256c009781bc2d1545db745af6dfd30c7e9cfa",
            (DAI, 128362984518555820706221),
            (WETH, 37818925894787751803),
            None,
        ),
        (
            13370850,
            "0xfa4487cf93952a91d6c1ec4d3eeff745a0e39f416bcf71b84203ec7953d60db5",
            "0xcee6e89b99ed58ed32ad83ba339c98c32e6b079b",
            "0x887668f2dc9612280243f2a6ef834cecf456654e",
            (WETH, 752044474949707219),
            ("0xbcca60bb61934080951369a648fb03df4f96263c", 2835767961),
            [2],
        ),
    ],
)
def test_old_aave_liquidations(
    block: int,
    tx: str,
    user: str,
    liquidator: str,
    debt: tuple[str, int],
    received: tuple[str, int],
    trace: list[int] | None,
) -> None:
    (found,) = [liq for liq in _inspect(block).liquidations if liq.transaction_hash == tx]
    assert (found.liquidated_user, found.liquidator_user) == (user, liquidator)
    assert (found.debt_token_address, found.debt_purchase_amount) == debt
    assert (found.received_token_address, found.received_amount) == received
    assert trace is None or found.trace_address == trace
    assert found.protocol == "aave"


def test_reverted_compound_liquidation_15049646_is_excluded() -> None:
    tx = "0x6dd0d8be8a77651f64ef399b47fbc87011bd796b43349c3164ff7da965e0b345"
    _inspect(15049646)  # classifies the block's traces
    traces = sorted(
        (t for t in _block(15049646).traces if t.transaction_hash == tx),
        key=lambda t: t.trace_address,
    )
    assert traces[0].trace_address == ()
    assert traces[0].error == "Reverted"
    assert len([t for t in traces if t.error is not None]) == 3
    assert any(t.kind == "liquidate" for t in traces)  # it was classified, then excluded
    for reference_only in (True, False):
        assert not [
            liq
            for liq in _inspect(15049646, reference_only).liquidations
            if liq.transaction_hash == tx
        ]


def test_discovered_markets_agree_with_market_lists() -> None:
    """cToken markets are discovered from traces (comptroller per market), not listed; where the
    collateral is a cToken of Compound's or CREAM's list, the protocol must match that list."""
    compound = set(json.loads((_fixtures() / "comp_markets.json").read_text()))
    cream = set(json.loads((_fixtures() / "cream_markets.json").read_text()))
    # EXPECTED.md says 18 Compound markets; the file holds 17 keys (16 distinct underlyings).
    assert (len(compound), len(cream)) == (17, 90)
    checked = 0
    for path in sorted((_fixtures() / "blocks").glob("*.json")):
        for liquidation in _inspect(int(path.stem)).liquidations:
            token = liquidation.received_token_address
            if liquidation.protocol == "compound_v2" and token in compound | cream:
                assert token in compound
                checked += 1
            if liquidation.protocol == "cream" and token in compound | cream:
                assert token in cream
                checked += 1
    assert checked >= 6


# ---------------------------------------------------------------- token flow, miner


@pytest.mark.parametrize(
    ("block", "tx", "ether", "dollars"),
    [
        (
            11930296,
            "0x4121ce805d33e952b2e6103a5024f70c118432fd0370128d6d7845f9b2987922",
            (3547869861992962562, 3499859860420296704),
            (0, 0),
        ),
        (
            11935012,
            "0x496836e0bd1520388e36c79d587a31d4b3306e4f25352164178ca0667c7f9c29",
            (597044987302243493, 562445964778930176),
            (871839781, 871839781),
        ),
        (
            11931272,
            "0x5ab21bfba50ad3993528c2828c63e311aafe93b40ee934790e545e150cb6ca73",
            (3636400213125714803, 3559576672903063566),
            (0, 0),
        ),
    ],
)
def test_token_flow(block: int, tx: str, ether: tuple[int, int], dollars: tuple[int, int]) -> None:
    flow = token_flow(_block(block), tx)
    assert flow.ether_flows == ether
    assert flow.dollar_flows == dollars


def test_miner_from_reward_trace_without_rpc() -> None:
    def no_rpc(number: int) -> str:
        raise AssertionError(f"asked for block {number}'s header though a reward trace exists")

    result = inspect_block(_block(10921991), miner_fallback=no_rpc)
    assert result.miner_address == "0x52bc44d5378309ee2abf1539bf71de1b7d7be3b5"


def test_miner_falls_back_to_block_header_without_reward_trace() -> None:
    asked: list[int] = []

    def header_miner(number: int) -> str:  # the reference test's mocked get_block
        asked.append(number)
        return "0x4a536c1f6a5d5a9c1aeca9f6d04fbbf5f0d8f4e3"

    block = load_block_file(_fixtures() / "blocks" / "10921990.json")
    assert block.block_number == 10921991  # a copy of 10921991 with the reward trace removed
    result = inspect_block(block, miner_fallback=header_miner)
    assert result.miner_address == "0x4a536c1f6a5d5a9c1aeca9f6d04fbbf5f0d8f4e3"
    assert asked == [10921991]
    # receipts identical to 10921991's
    assert [r.transaction_hash for r in block.receipts] == [
        r.transaction_hash for r in _block(10921991).receipts
    ]


# ---------------------------------------------------------------- geth callTracer source

_GETH_ERRORS = {
    "Reverted": "execution reverted",
    "Out of gas": "out of gas",
    "Bad instruction": "invalid opcode: INVALID",
}


def _as_calltracer(traces: list[dict[str, Any]]) -> dict[str, Any]:
    """One transaction's Parity flat traces as the geth callTracer tree a geth node returns."""
    frames: dict[tuple[int, ...], dict[str, Any]] = {}
    root: dict[str, Any] = {}
    for trace in traces:
        action, result = trace["action"], trace["result"] or {}
        if trace["type"] == "call":
            frame = {
                "type": action["callType"].upper(),
                "from": action["from"],
                "to": action["to"],
                "value": action["value"],
                "gas": action["gas"],
                "gasUsed": result.get("gasUsed", "0x0"),
                "input": action["input"],
                "output": result.get("output"),
            }
        elif trace["type"] == "create":
            frame = {
                "type": "CREATE",
                "from": action["from"],
                "to": result.get("address"),
                "value": action["value"],
                "gas": action["gas"],
                "gasUsed": result.get("gasUsed", "0x0"),
                "input": action["init"],
                "output": result.get("code"),
            }
        else:  # suicide
            frame = {
                "type": "SELFDESTRUCT",
                "from": action["address"],
                "to": action["refundAddress"],
                "value": action["balance"],
                "gas": "0x0",
                "gasUsed": "0x0",
                "input": "0x",
            }
        if trace["error"]:
            frame["error"] = _GETH_ERRORS[trace["error"]]
        frame["calls"] = []
        address = tuple(trace["trace_address"])
        frames[address] = frame
        if address:
            frames[address[:-1]]["calls"].append(frame)
        else:
            root = frame
    return root


def test_geth_calltracer_source_inspects_every_block_the_same() -> None:
    """Every fixture block re-expressed as geth debug_traceBlockByNumber(callTracer) output and
    flattened back (Parity error wording): the same swaps, arbitrages, sandwiches, liquidations."""
    from timemachine.mev import block_from_calltracer

    for path in sorted((_fixtures() / "blocks").glob("*.json")):
        document = json.loads(path.read_text())
        by_tx: dict[str, list[dict[str, Any]]] = {}
        for trace in document["traces"]:
            if trace["type"] != "reward":
                by_tx.setdefault(trace["transaction_hash"], []).append(trace)
        results = [{"txHash": tx, "result": _as_calltracer(t)} for tx, t in by_tx.items()]
        block = block_from_calltracer(
            results,
            block_number=document["block_number"],
            miner=document["miner"],
            base_fee_per_gas=document["base_fee_per_gas"],
            hardfork="london",
        )
        ours, reference = inspect_block(block), _inspect(int(path.stem), False)
        assert ours.swaps == reference.swaps, path.stem
        assert ours.arbitrages == reference.arbitrages, path.stem
        assert ours.sandwiches == reference.sandwiches, path.stem
        assert ours.liquidations == reference.liquidations, path.stem
        assert ours.jit_liquidity == reference.jit_liquidity, path.stem
