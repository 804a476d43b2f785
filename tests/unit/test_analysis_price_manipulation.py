"""The price-manipulation detector on hand-built call trees with Uniswap V2 Sync/Swap events."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, EOA, ETHER, VICTIM, call, result
from timemachine.analysis import price_manipulation
from timemachine.models import BalanceChange, LogEntry, ReplayResult
from timemachine.models.analysis import Amount
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame

LENDER = "0x00000000000000000000000000000000000000f1"
POOL = "0x00000000000000000000000000000000000000d1"
OTHER_POOL = "0x00000000000000000000000000000000000000d2"
WETH = "0x00000000000000000000000000000000000000e1"
USDX = "0x00000000000000000000000000000000000000e2"
ORACLE = "0x00000000000000000000000000000000000000c1"
ROUTER = "0x00000000000000000000000000000000000000c2"
USD = 10**6
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

START = (100 * ETHER, 300_000 * USD)
"""The pool's reserves before the tx: token0 = WETH, token1 = USDX (3,000 USDX per WETH)."""
LOAN = 1_000_000 * USD
CASH = 35_000 * USD


def word(value: int | str) -> str:
    number = int(value, 16) if isinstance(value, str) else value
    return f"{number:064x}"


def out(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """The Uniswap V2 quote (0.3% fee)."""
    return amount_in * 997 * reserve_out // (reserve_in * 1000 + amount_in * 997)


def transfer(token: str, source: str, target: str, amount: int, caller: str = "") -> CallFrame:
    frame = call(caller or source, token, "0xa9059cbb", data=word(target) + word(amount))
    frame.logs = [
        LogEntry(
            address=token,
            topics=[TRANSFER, "0x" + word(source), "0x" + word(target)],
            data="0x" + word(amount),
            position=0,
        )
    ]
    return frame


def swap(
    pool: str,
    caller: str,
    after: tuple[int, int],
    amounts: tuple[int, int, int, int],
    payout: CallFrame,
) -> CallFrame:
    """A V2 pair's swap frame: pays `payout`, then emits Sync(after) and Swap(amounts)."""
    frame = call(caller, pool, "0x022c0d9f", calls=[payout])
    sync = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
    swapped = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
    frame.logs = [
        LogEntry(
            address=pool, topics=[sync], data="0x" + word(after[0]) + word(after[1]), position=1
        ),
        LogEntry(
            address=pool,
            topics=[swapped, "0x" + word(caller), "0x" + word(caller)],
            data="0x" + "".join(word(a) for a in amounts),
            position=1,
        ),
    ]
    return frame


def reserves(source: str, pool: str = POOL) -> CallFrame:
    return call(source, pool, "0x0902f1ac", kind="STATICCALL")


def balance_of(source: str, token: str, holder: str) -> CallFrame:
    return call(source, token, "0x70a08231", kind="STATICCALL", data=word(holder))


def with_tokens(replay: ReplayResult, changes: dict[tuple[str, str], tuple[int, int]]) -> None:
    for (address, token), (before, after) in changes.items():
        replay.balance_changes.append(
            BalanceChange(
                address=address, asset=token, before=before, after=after, delta=after - before
            )
        )


BOUGHT = out(LOAN, START[1], START[0])
PUMPED = (START[0] - BOUGHT, START[1] + LOAN)
BACK = out(BOUGHT, PUMPED[0], PUMPED[1])


def exploit_tree(read: CallFrame | None = None, swap_back: bool = True) -> CallFrame:
    """Flash loan -> pump WETH in POOL -> VICTIM (a market) reads POOL and lends -> dump."""
    borrow = call(
        ATTACKER,
        VICTIM,
        "0xc5ebeaec",
        calls=[read or reserves(VICTIM), transfer(USDX, VICTIM, ATTACKER, CASH)],
    )
    steps = [
        transfer(USDX, ATTACKER, POOL, LOAN),
        swap(POOL, ATTACKER, PUMPED, (0, LOAN, BOUGHT, 0), transfer(WETH, POOL, ATTACKER, BOUGHT)),
        borrow,
    ]
    if swap_back:
        steps += [
            transfer(WETH, ATTACKER, POOL, BOUGHT),
            swap(
                POOL,
                ATTACKER,
                (START[0], PUMPED[1] - BACK),
                (BOUGHT, 0, 0, BACK),
                transfer(USDX, POOL, ATTACKER, BACK),
            ),
        ]
    callback = call(LENDER, ATTACKER, "0x23e30c8b", calls=steps)
    loan = call(
        ATTACKER,
        LENDER,
        "0x5cffe9de",
        calls=[
            transfer(USDX, LENDER, ATTACKER, LOAN),
            callback,
            transfer(USDX, ATTACKER, LENDER, LOAN + 900 * USD, caller=LENDER),
        ],
    )
    return call(EOA, ATTACKER, "0xabcdef01", calls=[loan, transfer(USDX, ATTACKER, EOA, 1)])


def test_a_flash_loan_pump_read_by_a_lending_market_is_critical() -> None:
    replay = result(exploit_tree())
    with_tokens(replay, {(VICTIM, USDX): (CASH, 0)})
    [finding] = price_manipulation.detect(replay)
    assert finding.detector == "price_manipulation"
    assert finding.vulnerability_class is VulnerabilityClass.PRICE_MANIPULATION
    assert (finding.severity, finding.confidence) == ("critical", 0.95)
    assert finding.title == f"Spot price of pool {POOL} manipulated before {VICTIM} used it"
    assert finding.evidence.frames == [
        "calls[0].calls[1].calls[1]",
        "calls[0].calls[1].calls[2].calls[0]",
        "calls[0].calls[1].calls[2].calls[1]",
        "calls[0].calls[1].calls[4]",
    ]
    assert finding.evidence.addresses == [VICTIM, POOL]
    assert finding.evidence.selectors == ["0x0902f1ac"]
    assert finding.evidence.amounts == [
        Amount(address=VICTIM, asset=USDX, amount=CASH),
        Amount(address=ATTACKER, asset=USDX, amount=CASH),
    ]
    assert finding.evidence.signals == [
        f"swaps moved pool {POOL}'s spot price 18.7x before it was read",
        f"{VICTIM} read the pool (getReserves()) at calls[0].calls[1].calls[2].calls[0] after "
        "the move; then paid value out",
        "a later swap in the same pool went the opposite way (swap back)",
        f"{VICTIM} lost value over the transaction",
        "the price-moving swap ran inside a flash-loan callback",
    ]
    assert "18.7x" in finding.explanation
    assert f"lost 35000000000 base units of token {USDX}" in finding.explanation


def test_a_balance_of_read_by_a_separate_oracle_blames_the_paying_market() -> None:
    oracle = call(
        VICTIM,
        ORACLE,
        "0x50d25bcd",
        kind="STATICCALL",
        calls=[balance_of(ORACLE, USDX, POOL), balance_of(ORACLE, WETH, POOL)],
    )
    replay = result(exploit_tree(read=oracle, swap_back=False))
    with_tokens(replay, {(VICTIM, USDX): (2 * CASH, CASH)})
    [finding] = price_manipulation.detect(replay)
    assert (finding.severity, finding.confidence) == ("high", 0.8)
    assert finding.evidence.addresses == [VICTIM, POOL, ORACLE]
    assert finding.evidence.selectors == ["0x70a08231"]
    assert finding.evidence.frames == [
        "calls[0].calls[1].calls[1]",
        "calls[0].calls[1].calls[2].calls[0].calls[0]",
        "calls[0].calls[1].calls[2].calls[1]",
    ]
    assert finding.evidence.signals[1] == (
        f"{ORACLE} read the pool (balanceOf(pool)) at calls[0].calls[1].calls[2].calls[0].calls[0] "
        f"after the move; then {VICTIM} paid value out"
    )
    assert "swap back" not in " ".join(finding.evidence.signals)


def test_a_reader_that_pays_out_but_loses_nothing_is_low() -> None:
    replay = result(exploit_tree())
    with_tokens(replay, {(VICTIM, USDX): (CASH, CASH)})
    [finding] = price_manipulation.detect(replay)
    assert (finding.severity, finding.confidence) == ("low", 0.8)


def test_a_small_price_move_is_not_reported() -> None:
    small = 20_000 * USD  # moves the price about 14%
    bought = out(small, START[1], START[0])
    steps = [
        transfer(USDX, ATTACKER, POOL, small),
        swap(
            POOL,
            ATTACKER,
            (START[0] - bought, START[1] + small),
            (0, small, bought, 0),
            transfer(WETH, POOL, ATTACKER, bought),
        ),
        call(
            ATTACKER,
            VICTIM,
            "0xc5ebeaec",
            calls=[reserves(VICTIM), transfer(USDX, VICTIM, ATTACKER, CASH)],
        ),
    ]
    replay = result(call(EOA, ATTACKER, "0xabcdef01", calls=steps))
    with_tokens(replay, {(VICTIM, USDX): (CASH, 0)})
    assert price_manipulation.detect(replay) == []


def test_a_liquidation_without_a_swap_in_the_tx_is_not_reported() -> None:
    liquidate = call(
        EOA,
        VICTIM,
        "0xbcbaa6e6",
        calls=[
            reserves(VICTIM),
            transfer(USDX, EOA, VICTIM, 6_000 * USD, caller=VICTIM),
            transfer(WETH, VICTIM, EOA, 2 * ETHER),
        ],
    )
    replay = result(liquidate)
    with_tokens(replay, {(VICTIM, WETH): (8 * ETHER, 6 * ETHER)})
    assert price_manipulation.detect(replay) == []


def test_a_flash_loan_arbitrage_between_two_pools_is_not_reported() -> None:
    """Buy WETH cheap in POOL, sell it dear in OTHER_POOL; only the arbitrageur (and a router
    that pays nothing out) reads the pools."""
    loan = 200_000 * USD
    bought = out(loan, START[1], START[0])
    dear = (100 * ETHER, 400_000 * USD)
    sold = out(bought, dear[0], dear[1])
    steps = [
        reserves(ATTACKER, POOL),
        reserves(ATTACKER, OTHER_POOL),
        transfer(USDX, ATTACKER, POOL, loan),
        swap(
            POOL,
            ATTACKER,
            (START[0] - bought, START[1] + loan),
            (0, loan, bought, 0),
            transfer(WETH, POOL, ATTACKER, bought),
        ),
        reserves(ATTACKER, POOL),
        call(
            ATTACKER,
            ROUTER,
            "0xd06ca61f",
            kind="STATICCALL",
            calls=[reserves(ROUTER, POOL), reserves(ROUTER, OTHER_POOL)],
        ),
        transfer(WETH, ATTACKER, OTHER_POOL, bought),
        swap(
            OTHER_POOL,
            ATTACKER,
            (dear[0] + bought, dear[1] - sold),
            (bought, 0, 0, sold),
            transfer(USDX, OTHER_POOL, ATTACKER, sold),
        ),
    ]
    callback = call(LENDER, ATTACKER, "0x23e30c8b", calls=steps)
    lend = call(
        ATTACKER,
        LENDER,
        "0x5cffe9de",
        calls=[
            balance_of(LENDER, USDX, LENDER),
            transfer(USDX, LENDER, ATTACKER, loan),
            callback,
            transfer(USDX, ATTACKER, LENDER, loan + 180 * USD, caller=LENDER),
        ],
    )
    replay = result(call(EOA, ATTACKER, "0xabcdef01", calls=[lend]))
    with_tokens(replay, {(OTHER_POOL, USDX): (dear[1], dear[1] - sold)})
    assert price_manipulation.detect(replay) == []


def test_the_pools_own_balance_reads_do_not_count() -> None:
    steps = [
        transfer(USDX, ATTACKER, POOL, LOAN),
        swap(POOL, ATTACKER, PUMPED, (0, LOAN, BOUGHT, 0), transfer(WETH, POOL, ATTACKER, BOUGHT)),
    ]
    steps[1].calls.append(balance_of(POOL, USDX, POOL))
    steps[1].calls.append(transfer(USDX, POOL, EOA, 1))
    replay = result(call(EOA, ATTACKER, "0xabcdef01", calls=steps))
    with_tokens(replay, {(POOL, WETH): (START[0], PUMPED[0])})
    assert price_manipulation.detect(replay) == []
