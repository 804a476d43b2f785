"""Our own datasets' columns read from the records the store holds (mev-inspect-py payloads, the
monitor's record): cryo's types, uint256 as binary/string/f64, exact values; and every column
is documented in docs/archive.md."""

from __future__ import annotations

from typing import Any

from tests.conftest import REPO
from tests.unit.archive_support import swap as make_swap
from tests.unit.monitor_records import record
from tests.unit.test_analysis_report import drain
from timemachine.analysis import analyze
from timemachine.archive.own import DATASETS
from timemachine.archive.own.columns import U64_MAX, table
from timemachine.mev.models import Arbitrage, JitLiquidity, Liquidation, Sandwich
from timemachine.monitor.models import Simulation

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20


def rows(dataset: str, *records: dict[str, Any]) -> list[dict[str, Any]]:
    built = table(DATASETS[dataset].columns, [{**r, "_chain_id": 1} for r in records])
    return [{k: ("0x" + v.hex()) if isinstance(v, bytes) else v for k, v in row.items()}
            for row in built.to_pylist()]  # fmt: skip


def test_mev_types_flatten_to_their_columns() -> None:
    swap = make_swap(9)
    arb = Arbitrage(swaps=[swap, swap], block_number=9, transaction_hash=swap.transaction_hash,
                    account_address=A, profit_token_address=B, start_amount=10, end_amount=2**70,
                    profit_amount=2**70 - 10, protocols=["uniswap_v2"])  # fmt: skip
    [arb_row] = rows("mev_arbitrages", {**arb.model_dump(mode="json"), "_block": 9})
    assert arb_row["profit_amount_string"] == str(2**70 - 10)
    assert arb_row["profit_amount_binary"] == "0x" + (2**70 - 10).to_bytes(32, "big").hex()
    assert arb_row["profit_amount_f64"] == float(2**70 - 10)
    pool = bytes.fromhex(swap.contract_address[2:])
    assert (arb_row["swap_count"], arb_row["pools"]) == (2, [pool, pool])
    back = swap.model_copy(update={"transaction_hash": "0x" + "77" * 32})
    victim = swap.model_copy(update={"transaction_hash": "0x" + "66" * 32})
    sandwich = Sandwich(block_number=9, sandwicher_address=A, frontrun_swap=swap,
                        backrun_swap=back, sandwiched_swaps=[victim],
                        profit_token_address=B, profit_amount=3, kind="balanced",
                        matched_amount=4, profit_explanation="")  # fmt: skip
    [row] = rows("mev_sandwiches", {**sandwich.model_dump(mode="json"), "_block": 9})
    assert row["backrun_transaction_hash"] == "0x" + "77" * 32
    assert row["sandwiched_transaction_hashes"] == [bytes.fromhex("66" * 32)]
    assert (row["contract_address"], row["kind"], row["matched_amount_string"]) == (
        swap.contract_address, "balanced", "4",
    )  # fmt: skip
    liquidation = Liquidation(liquidated_user=A, liquidator_user=B, debt_token_address=A,
                              debt_purchase_amount=5, received_amount=6,
                              received_token_address=None, protocol="aave",
                              transaction_hash=swap.transaction_hash, trace_address=[3],
                              block_number=9)  # fmt: skip
    [row] = rows("mev_liquidations", {**liquidation.model_dump(mode="json"), "_block": 9})
    assert (row["received_token_address"], row["received_amount_string"], row["trace_address"]) == (
        None, "6", [3],
    )  # fmt: skip
    jit = JitLiquidity(block_number=9, bot_address=A, pool_address=B,
                       mint_transaction_hash="0x" + "01" * 32, mint_trace=[0],
                       burn_transaction_hash="0x" + "02" * 32, burn_trace=[1], swaps=[swap],
                       token0_address=A, token1_address=B, mint_token0_amount=1,
                       mint_token1_amount=2, burn_token0_amount=3, burn_token1_amount=4,
                       token0_swap_volume=5, token1_swap_volume=2**255)  # fmt: skip
    [row] = rows("mev_jit", {**jit.model_dump(mode="json"), "_block": 9})
    assert row["token1_swap_volume_string"] == str(2**255)
    assert (row["swap_count"], row["burn_trace"], row["chain_id"]) == (1, [1], 1)


def test_mempool_row_of_a_simulated_transaction() -> None:
    report = analyze(drain())
    monitored = record(7, seen=50.0, maxFeePerGas=hex(2**70)).model_copy(
        update={"status": "included", "block_number": 12, "position": 3, "updated_at": 60.0,
                "first_seen": {"b": 50.0, "a": 50.0, "c": 49.5},
                "simulation": Simulation(head=11, success=True, gas_used=21_000,
                                         findings=report.findings, latency_ms=4.0)}
    )  # fmt: skip
    [row] = rows("mempool_transactions", {**monitored.model_dump(mode="json"), "_block": 12})
    assert row["first_provider"] == "c"
    assert row["providers"] == ["a", "b", "c"]
    assert row["first_seen"] == 49.5
    assert row["max_fee_per_gas"] is None  # past u64: null, as documented
    assert row["max_priority_fee_per_gas"] == 10**9 < U64_MAX
    assert row["selector"] is None  # a plain transfer
    assert (row["simulation_gas_used"], row["findings"]) == (
        21_000, ["reentrancy", "value_extraction"],
    )  # fmt: skip
    assert (row["block_number"], row["position"], row["status"]) == (12, 3, "included")


def test_every_column_is_documented() -> None:
    text = (REPO / "docs" / "archive.md").read_text(encoding="utf-8")
    for dataset in DATASETS.values():
        section = text.split(f"**`{dataset.name}`**", 1)[1].split("**`", 1)[0]
        missing = [c.name for c in dataset.columns if f"`{c.name}`" not in section]
        assert missing == [], dataset.name
