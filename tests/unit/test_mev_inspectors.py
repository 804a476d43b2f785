"""The inspectors on synthetic blocks built from ABI-encoded calls: exact amounts, exact fields."""

from __future__ import annotations

from typing import Any

from tests.unit.mev_traces import address, call, calldata, tx_hash, words
from timemachine.mev import block_from_json, inspect_block
from timemachine.mev.models import BlockInspection
from timemachine.mev.specs.aave import LIQUIDATION_CALL
from timemachine.mev.specs.balancer import VAULT, VAULT_SWAP
from timemachine.mev.specs.erc20 import TRANSFER, TRANSFER_FROM
from timemachine.mev.specs.uniswap import V2_SWAP, V3_BURN, V3_COLLECT, V3_MINT, V3_SWAP
from timemachine.mev.specs.zero_ex import FILL_RFQ

WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
TOKEN = address(0xAAAA)
SEARCHER = address(0x5EA)
VICTIM = address(0x71C)
PAIR = address(0xBA1)
PAIR2 = address(0xBA2)
MINER = address(0x111)


def inspect(traces: list[dict[str, Any]], **header: Any) -> BlockInspection:
    document = {"block_number": 100, "miner": MINER, "base_fee_per_gas": 0, "traces": traces}
    document.update(header)
    return inspect_block(block_from_json(document))


def v2_leg(
    tx: str, pos: int, trader: str, pay: tuple[str, int], get: tuple[str, int], pool: str = PAIR
) -> list[dict[str, Any]]:
    """trader pays `pay` into the pair, then swaps for `get` sent back to itself."""
    out0, out1 = (get[1], 0) if get[0] == WETH else (0, get[1])
    return [
        call(tx, pos, [], trader, trader, "0x12345678"),
        call(tx, pos, [0], trader, pay[0], calldata(TRANSFER, pool, pay[1])),
        call(tx, pos, [1], trader, pool, calldata(V2_SWAP, out0, out1, trader, b"")),
        call(tx, pos, [1, 0], pool, get[0], calldata(TRANSFER, trader, get[1])),
    ]


def sandwich_block(back_sold: int, back_got: int) -> BlockInspection:
    return inspect(
        [
            *v2_leg(tx_hash(1), 0, SEARCHER, (WETH, 10), (TOKEN, 100)),
            *v2_leg(tx_hash(2), 1, VICTIM, (WETH, 5), (TOKEN, 40)),
            *v2_leg(tx_hash(3), 2, SEARCHER, (TOKEN, back_sold), (WETH, back_got)),
        ]
    )


def test_balanced_sandwich() -> None:
    (sandwich,) = sandwich_block(100, 13).sandwiches
    assert sandwich.kind == "balanced"
    assert sandwich.sandwicher_address == SEARCHER
    assert [s.transaction_hash for s in sandwich.sandwiched_swaps] == [tx_hash(2)]
    assert (sandwich.profit_token_address, sandwich.profit_amount) == (WETH, 3)
    assert sandwich.matched_amount == 100


def test_front_heavy_sandwich_charges_only_the_sold_share_of_the_buy() -> None:
    (sandwich,) = sandwich_block(60, 9).sandwiches
    assert sandwich.kind == "front_heavy"
    assert sandwich.matched_amount == 60
    assert sandwich.profit_amount == 9 - 10 * 60 // 100 == 3
    assert "60/100" in sandwich.profit_explanation


def test_back_heavy_sandwich_credits_only_the_bought_share_of_the_sale() -> None:
    (sandwich,) = sandwich_block(150, 16).sandwiches
    assert sandwich.kind == "back_heavy"
    assert sandwich.matched_amount == 100
    assert sandwich.profit_amount == 16 * 100 // 150 - 10 == 0


def test_no_sandwich_without_a_victim_between_the_legs() -> None:
    result = inspect(
        [
            *v2_leg(tx_hash(1), 0, SEARCHER, (WETH, 10), (TOKEN, 100)),
            *v2_leg(tx_hash(3), 1, SEARCHER, (TOKEN, 100), (WETH, 13)),
        ]
    )
    assert len(result.swaps) == 2
    assert result.sandwiches == []


def arbitrage_traces(error: str | None = None) -> list[dict[str, Any]]:
    tx = tx_hash(9)
    return [
        call(tx, 0, [], SEARCHER, SEARCHER, "0x12345678"),
        call(tx, 0, [0], SEARCHER, WETH, calldata(TRANSFER, PAIR, 10)),
        call(tx, 0, [1], SEARCHER, PAIR, calldata(V2_SWAP, 0, 100, PAIR2, b"")),
        call(tx, 0, [1, 0], PAIR, TOKEN, calldata(TRANSFER, PAIR2, 100)),
        call(tx, 0, [2], SEARCHER, PAIR2, calldata(V2_SWAP, 12, 0, SEARCHER, b""), error=error),
        call(tx, 0, [2, 0], PAIR2, WETH, calldata(TRANSFER, SEARCHER, 12)),
    ]


def test_cyclic_arbitrage_profit_is_end_minus_start() -> None:
    result = inspect(arbitrage_traces())
    (arb,) = result.arbitrages
    assert [s.contract_address for s in arb.swaps] == [PAIR, PAIR2]
    assert (arb.start_amount, arb.end_amount, arb.profit_amount) == (10, 12, 2)
    assert arb.account_address == SEARCHER
    assert arb.error is None
    assert arb.protocols == ["uniswap_v2"]
    assert result.summary.by_type["arbitrage"].profit_eth == 2
    assert result.summary.mev_count == 1


def test_reverted_arbitrage_is_marked_and_not_counted_as_profit() -> None:
    result = inspect(arbitrage_traces(error="Reverted"))
    (arb,) = result.arbitrages
    assert arb.error == "Reverted"
    assert result.summary.by_type["arbitrage"].count == 1
    assert result.summary.by_type["arbitrage"].profit_eth == 0


T0, T1 = address(0x70), address(0x71)
POOL = address(0x3333)
BOT = address(0xB07)
BOT_EOA = address(0xE0A)


def test_jit_liquidity() -> None:
    mint, swap, burn = tx_hash(0x10), tx_hash(0x11), tx_hash(0x12)
    traces = [
        call(mint, 0, [], BOT_EOA, BOT, "0x12345678"),
        call(
            mint,
            0,
            [0],
            BOT,
            POOL,
            calldata(V3_MINT, BOT, -60, 60, 1000, b""),
            output=words(50, 70),
        ),
        call(mint, 0, [0, 0], POOL, BOT, "0xd3487997"),
        call(mint, 0, [0, 0, 0], BOT, T0, calldata(TRANSFER, POOL, 50)),
        call(mint, 0, [0, 0, 1], BOT, T1, calldata(TRANSFER, POOL, 70)),
        call(swap, 1, [], VICTIM, POOL, calldata(V3_SWAP, VICTIM, True, 20, 1, b"")),
        call(swap, 1, [0], POOL, T1, calldata(TRANSFER, VICTIM, 25)),
        call(swap, 1, [1], POOL, VICTIM, "0xfa461e33"),
        call(swap, 1, [1, 0], VICTIM, T0, calldata(TRANSFER, POOL, 20)),
        call(burn, 2, [], BOT_EOA, BOT, "0x12345678"),
        call(burn, 2, [0], BOT, POOL, calldata(V3_BURN, -60, 60, 1000), output=words(68, 45)),
        call(burn, 2, [1], BOT, POOL, calldata(V3_COLLECT, BOT, -60, 60, 2**128 - 1, 2**128 - 1)),
        call(burn, 2, [1, 0], POOL, T0, calldata(TRANSFER, BOT, 70)),
        call(burn, 2, [1, 1], POOL, T1, calldata(TRANSFER, BOT, 45)),
    ]
    result = inspect(traces)
    (jit,) = result.jit_liquidity
    assert jit.model_dump(exclude={"swaps"}) == {
        "block_number": 100,
        "bot_address": BOT,
        "pool_address": POOL,
        "mint_transaction_hash": mint,
        "mint_trace": [0],
        "burn_transaction_hash": burn,
        "burn_trace": [0],
        "token0_address": T0,
        "token1_address": T1,
        "mint_token0_amount": 50,
        "mint_token1_amount": 70,
        "burn_token0_amount": 68,
        "burn_token1_amount": 45,
        "token0_swap_volume": 20,
        "token1_swap_volume": 25,
    }
    assert [s.transaction_hash for s in jit.swaps] == [swap]
    # without return values (a node that dropped outputs) the transfers give the amounts
    for trace in traces:
        if trace["action"]["to"] == POOL and trace["result"]:
            trace["result"]["output"] = "0x"
    (jit,) = inspect(traces).jit_liquidity
    assert (jit.mint_token0_amount, jit.mint_token1_amount) == (50, 70)
    assert (jit.burn_token0_amount, jit.burn_token1_amount) == (70, 45)  # collected, with fees


def test_no_jit_when_another_account_burns() -> None:
    mint, swap, burn = tx_hash(0x10), tx_hash(0x11), tx_hash(0x12)
    other = address(0x0DD)
    traces = [
        call(
            mint, 0, [], BOT, POOL, calldata(V3_MINT, BOT, -60, 60, 1000, b""), output=words(5, 7)
        ),
        call(swap, 1, [], VICTIM, POOL, calldata(V3_SWAP, VICTIM, True, 20, 1, b"")),
        call(swap, 1, [0], POOL, T1, calldata(TRANSFER, VICTIM, 25)),
        call(swap, 1, [1], VICTIM, T0, calldata(TRANSFER, POOL, 20)),
        call(burn, 2, [], other, POOL, calldata(V3_BURN, -60, 60, 1000), output=words(6, 6)),
    ]
    result = inspect(traces)
    assert len(result.swaps) == 1
    assert result.jit_liquidity == []


def test_miner_payments_count_coinbase_transfers_that_did_not_fail_and_priority_fees() -> None:
    tx = tx_hash(0x20)
    traces = [
        call(tx, 0, [], SEARCHER, SEARCHER, "0x12345678"),
        call(tx, 0, [0], SEARCHER, MINER, value=1000),
        call(tx, 0, [1], SEARCHER, SEARCHER, "0x12345678", error="Reverted"),
        call(tx, 0, [1, 0], SEARCHER, MINER, value=5000),  # undone by its parent's revert
        {
            "action": {"author": MINER, "rewardType": "block", "value": "0x1"},
            "block_hash": None,
            "block_number": 100,
            "result": None,
            "subtraces": 0,
            "trace_address": [],
            "transaction_hash": None,
            "transaction_position": None,
            "type": "reward",
            "error": None,
        },
    ]
    receipts = [
        {
            "block_number": 100,
            "transaction_hash": tx,
            "transaction_index": 0,
            "gas_used": 100,
            "effective_gas_price": 15,
            "cumulative_gas_used": 100,
            "to": SEARCHER,
        }
    ]
    result = inspect(traces, base_fee_per_gas=10, receipts=receipts)
    (payment,) = result.miner_payments
    assert payment.coinbase_transfer == 1000
    assert payment.priority_fee == 500
    assert payment.gas_price_with_coinbase_transfer == (15 * 100 + 1000) // 100
    assert result.summary.miner_revenue == 1500
    assert result.miner_address == MINER


def test_liquidation_in_a_failed_transaction_is_not_reported() -> None:
    tx = tx_hash(0x30)
    lending_pool, user = address(0x1E4D), address(0x05E4)

    def traces(top_error: str | None) -> list[dict[str, Any]]:
        return [
            call(
                tx,
                0,
                [],
                SEARCHER,
                lending_pool,
                calldata(LIQUIDATION_CALL, WETH, TOKEN, user, 40, False),
                error=top_error,
            ),
            call(
                tx, 0, [0], lending_pool, TOKEN, calldata(TRANSFER_FROM, SEARCHER, lending_pool, 40)
            ),
            call(tx, 0, [1], lending_pool, WETH, calldata(TRANSFER, SEARCHER, 3)),
        ]

    (liquidation,) = inspect(traces(None)).liquidations
    assert liquidation.model_dump() == {
        "liquidated_user": user,
        "liquidator_user": SEARCHER,
        "debt_token_address": TOKEN,
        "debt_purchase_amount": 40,
        "received_amount": 3,
        "received_token_address": WETH,
        "protocol": "aave",
        "transaction_hash": tx,
        "trace_address": [],
        "block_number": 100,
        "error": None,
    }
    assert inspect(traces("Out of gas")).liquidations == []


def test_balancer_v2_vault_swap_is_an_extension() -> None:
    tx = tx_hash(0x40)
    pool_id = bytes.fromhex("44" * 20) + bytes(12)
    data = calldata(
        VAULT_SWAP, (pool_id, 0, WETH, TOKEN, 10, b""), (SEARCHER, False, SEARCHER, False), 1, 2
    )
    traces = [
        call(tx, 0, [], SEARCHER, VAULT, data),
        call(tx, 0, [0], VAULT, WETH, calldata(TRANSFER_FROM, SEARCHER, VAULT, 10)),
        call(tx, 0, [1], VAULT, TOKEN, calldata(TRANSFER, SEARCHER, 99)),
    ]
    (swap,) = inspect(traces).swaps
    assert (swap.protocol, swap.contract_address) == ("balancer_v2", "0x" + "44" * 20)
    assert (swap.token_in_address, swap.token_in_amount) == (WETH, 10)
    assert (swap.token_out_address, swap.token_out_amount) == (TOKEN, 99)
    reference = inspect_block(
        block_from_json({"block_number": 100, "traces": traces}), reference_only=True
    )
    assert reference.swaps == []


def test_a_proxy_delegating_the_same_swap_counts_once() -> None:
    tx = tx_hash(0x50)
    proxy, implementation, maker = address(0xD1), address(0xD2), address(0xD3)
    order = (TOKEN, WETH, 100, 10, maker, SEARCHER, SEARCHER, bytes(32), 9, 1)
    data = calldata(FILL_RFQ, order, (1, 2, bytes(32), bytes(32)), 10)
    traces = [
        call(tx, 0, [], SEARCHER, proxy, data),
        call(tx, 0, [0], proxy, implementation, data, call_type="delegatecall"),
        call(tx, 0, [0, 0], proxy, WETH, calldata(TRANSFER_FROM, SEARCHER, maker, 10)),
        call(tx, 0, [0, 1], proxy, TOKEN, calldata(TRANSFER_FROM, maker, SEARCHER, 100)),
    ]
    (swap,) = inspect(traces).swaps
    assert (swap.trace_address, swap.protocol) == ([], "0x")
    assert (swap.token_in_amount, swap.token_out_amount) == (10, 100)
    reference = inspect_block(
        block_from_json({"block_number": 100, "traces": traces}), reference_only=True
    )
    assert [s.trace_address for s in reference.swaps] == [[], [0]]  # mev-inspect-py: twice
