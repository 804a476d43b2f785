"""Own-capital price manipulation of a pool that emits no Uniswap events: recognized from its
balances, read through an arbitrary view, value taken from the reader, the move reversed."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, call, eth, result
from tests.unit.test_analysis_price_manipulation import transfer
from timemachine.analysis import price_manipulation
from timemachine.models import BalanceChange, ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass

POOL = "0x00000000000000000000000000000000000000d9"
LENDER = "0x00000000000000000000000000000000000000f1"
TKA = "0x00000000000000000000000000000000000000e5"
TKB = "0x00000000000000000000000000000000000000e6"
USDX = "0x00000000000000000000000000000000000000e7"
GET_PRICE = "0x98d5fdca"
SWAP = "0xdf791e50"


def pumped(*, reverse: bool = True, loan: int = 9_000) -> ReplayResult:
    """ATTACKER sells 1,000 TKA into POOL (1,000/1,000) for 500 TKB with its own tokens, borrows
    from LENDER (which prices with POOL.getPrice()), then sells the TKB back."""
    calls = [
        transfer(TKA, ATTACKER, POOL, 1_000),
        call(ATTACKER, POOL, SWAP, calls=[transfer(TKB, POOL, ATTACKER, 500)]),
        call(
            ATTACKER,
            LENDER,
            "0xc5ebeaec",
            calls=[
                call(LENDER, POOL, GET_PRICE, kind="STATICCALL"),
                transfer(USDX, LENDER, ATTACKER, loan),
            ],
        ),
    ]
    if reverse:
        calls += [
            transfer(TKB, ATTACKER, POOL, 500),
            call(ATTACKER, POOL, SWAP, calls=[transfer(TKA, POOL, ATTACKER, 1_000)]),
        ]
    replay = result(call(EOA, ATTACKER, "0x9e5faafc", calls=calls))
    end_a, end_b = (1_000, 1_000) if reverse else (2_000, 500)
    replay.balance_changes += [
        BalanceChange(address=POOL, asset=TKA, before=1_000, after=end_a, delta=end_a - 1_000),
        BalanceChange(address=POOL, asset=TKB, before=1_000, after=end_b, delta=end_b - 1_000),
        BalanceChange(address=LENDER, asset=USDX, before=10_000, after=10_000 - loan, delta=-loan),
    ]
    return replay


def test_an_own_capital_pump_of_an_event_less_pool_read_by_a_lender_is_reported() -> None:
    [finding] = price_manipulation.detect(pumped())
    assert finding.vulnerability_class is VulnerabilityClass.PRICE_MANIPULATION
    assert finding.severity == "critical"  # the lender lost 90% of its USDX
    assert finding.title == f"Spot price of pool {POOL} manipulated before {LENDER} used it"
    assert finding.evidence.signals == [
        f"swaps moved pool {POOL}'s spot price 4.0x before it was read",
        f"{LENDER} read the pool (a view {GET_PRICE}) at calls[2].calls[0] after the move; "
        "then paid value out",
        "a later swap in the same pool went the opposite way (swap back)",
        f"{LENDER} lost value over the transaction",
    ]
    assert finding.evidence.frames == [
        "calls[1].calls[0]",
        "calls[2].calls[0]",
        "calls[2].calls[1]",
        "calls[4].calls[0]",
    ]


def test_a_small_move_of_an_event_less_pool_is_not_reported() -> None:
    replay = pumped()
    for change in replay.balance_changes[:2]:
        change.before = change.after = 100_000
    assert price_manipulation.detect(replay) == []


def test_balances_the_tx_read_itself_stand_in_for_unknown_balances_before() -> None:
    """Mid-block, the replay knows no balances before the tx; the attacker's own balanceOf(pool)
    reads before its first move give them."""
    replay = pumped()
    for change in replay.balance_changes[:2]:
        change.before = change.after = None
    reads = [
        call(ATTACKER, token, "0x70a08231", kind="STATICCALL", data=POOL[2:].rjust(64, "0"),
             output=f"0x{1_000:064x}")
        for token in (TKA, TKB)
    ]  # fmt: skip
    replay.trace.calls[:0] = reads
    [finding] = price_manipulation.detect(replay)
    assert (
        finding.evidence.signals[0]
        == f"swaps moved pool {POOL}'s spot price 4.0x before it was read"
    )
    assert finding.severity == "critical"


def test_without_balances_before_an_event_less_pool_is_not_followed() -> None:
    replay = pumped()
    for change in replay.balance_changes[:2]:
        change.before = change.after = None
    assert price_manipulation.detect(replay) == []


def test_a_pool_trading_native_eth_is_followed_through_value_carrying_calls() -> None:
    """ATTACKER pays POOL (1,000 ETH wei / 1,000 TKB) 1,000 wei for 500 TKB, LENDER prices with
    POOL.getPrice() and lends USDX, ATTACKER sells the TKB back for its ETH less a 10 wei fee."""
    calls = [
        call(ATTACKER, POOL, SWAP, value=1_000, calls=[transfer(TKB, POOL, ATTACKER, 500)]),
        call(
            ATTACKER,
            LENDER,
            "0xc5ebeaec",
            calls=[
                call(LENDER, POOL, GET_PRICE, kind="STATICCALL"),
                transfer(USDX, LENDER, ATTACKER, 9_000),
            ],
        ),
        transfer(TKB, ATTACKER, POOL, 500),
        call(ATTACKER, POOL, SWAP, calls=[call(POOL, ATTACKER, value=990)]),
    ]
    replay = result(
        call(EOA, ATTACKER, "0x9e5faafc", calls=calls),
        changes={POOL: (1_000, 1_010)},
        transfers=[eth(ATTACKER, POOL, 1_000), eth(POOL, ATTACKER, 990)],
    )
    replay.balance_changes += [
        BalanceChange(address=POOL, asset=TKB, before=1_000, after=1_000, delta=0),
        BalanceChange(address=LENDER, asset=USDX, before=10_000, after=1_000, delta=-9_000),
    ]
    [finding] = price_manipulation.detect(replay)
    assert finding.title == f"Spot price of pool {POOL} manipulated before {LENDER} used it"
    assert (
        finding.evidence.signals[0]
        == f"swaps moved pool {POOL}'s spot price 4.0x before it was read"
    )
    assert "a later swap in the same pool went the opposite way (swap back)" in (
        finding.evidence.signals
    )
