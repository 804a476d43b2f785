"""Price manipulation: a swap moves a Uniswap V2-style pool's spot price by a large factor, and
afterwards, in the same transaction, a third contract reads that pool's reserves (`getReserves`,
or a token's `balanceOf(pool)`) and then pays value out: the reader priced something at the
manipulated spot price (the Cream / Inverse / Warp / Harvest pattern).

Pools are recognized by their standard events: `Sync(reserve0, reserve1)` gives the reserves
after each update, and the `Swap` amounts emitted with it give the reserves before the pool's
first swap of the transaction (reserve = previous reserve - amountOut + amountIn).

Pools that emit no such events (any AMM-like contract: Curve, Balancer, a custom pool) are
recognized from their balances instead (`_BalancePools`): a contract that both received one
token and sent another over the tx (native ETH, moved by value-carrying calls, counts as one),
whose balances before the tx the replay read (or the tx itself read, with `balanceOf(pool)`,
before the moves that followed); its spot price is the ratio of its two balances, followed
through the tx's Transfer events and value-carrying calls. Any read of
such a pool (a STATICCALL into it, or `balanceOf(pool)`) counts.

Signals: the large move before the read and the payout after it by a contract that is neither
the pool nor attacker-controlled (required; a read made while a frame of the pool still runs is
a read-only reentrancy, left to `reentrancy`); a swap back in the opposite direction in the same
pool later in the transaction; the paying contract losing value over the transaction; the move
made inside a flash-loan callback. Severity comes from what the paying contract lost; a reader
that paid out but lost nothing (a router passing tokens through) is reported "low".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

from timemachine.analysis import evidence
from timemachine.analysis.profit import attacker_addresses
from timemachine.analysis.token_moves import erc20_transfer
from timemachine.models.analysis import Amount, Evidence, Finding
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame, LogEntry
from timemachine.trace.order import EmissionOrder

NAME = "price_manipulation"

SYNC_TOPIC = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
SWAP_TOPIC = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
GET_RESERVES = "0x0902f1ac"
BALANCE_OF = "0x70a08231"
#: Flash-loan callbacks: ERC-3156, Aave V2/V3, Uniswap V2 / PancakeSwap flash swaps, Balancer.
FLASH_CALLBACKS = frozenset(
    ["0x23e30c8b", "0x920f5c84", "0x1b11d0ff", "0x10d1e85c", "0x84800812", "0xf04f2707"]
)
MOVE_FACTOR = Fraction(5, 4)
"""A pool price moved by at least this factor (either way) counts as a large move."""

Reserves = tuple[int, int]


@dataclass
class _Pool:
    """One pool's reserves as the transaction's Sync/Swap events reveal them."""

    start: Reserves | None = None
    """Reserves before the pool's first event in the tx (None until known)."""
    current: Reserves | None = None
    swaps: list[tuple[tuple[int, ...], int]] = field(default_factory=list)
    """(frame path, direction) of every swap: +1 when token0 was bought, -1 when sold."""

    def move(self) -> tuple[Fraction, int] | None:
        """How many times the pool's price (token1 per token0) moved since the tx started, and
        which way (+1: token0 got dearer); None when the reserves are not known."""
        if self.start is None or self.current is None or 0 in (*self.start, *self.current):
            return None
        ratio = Fraction(self.current[1] * self.start[0], self.current[0] * self.start[1])
        return (ratio, 1) if ratio >= 1 else (1 / ratio, -1)


@dataclass
class _Case:
    """A manipulated read whose consumer paid out afterwards."""

    pool: str
    payer: str
    reader: str
    read_path: tuple[int, ...]
    selector: str
    factor: Fraction
    direction: int
    move_frames: list[tuple[int, ...]]
    payouts: list[tuple[str, Amount]]
    swaps_before: int
    """How many swaps the pool had seen when it was read."""
    swap_back: tuple[int, ...] | None = None
    """The first later swap in the pool in the opposite direction."""


def _words(data: str) -> list[int]:
    raw = data[2:] if data.startswith("0x") else data
    return [int(raw[i : i + 64], 16) for i in range(0, len(raw) - 63, 64)]


def _timeline(root: CallFrame) -> Iterator[tuple[evidence.Visit, LogEntry | None]]:
    """Every frame (at its entry, log None) and every log (with its frame) in execution order."""
    order = EmissionOrder(root)
    first = evidence.Visit((), root, ())
    yield first, None
    stack: list[tuple[evidence.Visit, Iterator[LogEntry | CallFrame]]] = [
        (first, iter(order.items(root)))
    ]
    while stack:
        visit, items = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
        elif isinstance(item, LogEntry):
            yield visit, item
        else:
            index = next(i for i, child in enumerate(visit.frame.calls) if child is item)
            ancestors = (*visit.ancestors, (visit.path, visit.frame))
            child = evidence.Visit((*visit.path, index), item, ancestors)
            yield child, None
            stack.append((child, iter(order.items(item))))


def _on_log(pools: dict[str, _Pool], visit: evidence.Visit, log: LogEntry) -> None:
    if not log.topics or not evidence.succeeded(visit.frame):
        return
    topic, pool = log.topics[0].lower(), evidence.lower(log.address)
    words = _words(log.data)
    if topic == SYNC_TOPIC and len(words) == 2:
        record = pools.setdefault(pool, _Pool())
        record.current = (words[0], words[1])
    elif topic == SWAP_TOPIC and len(words) == 4 and pool in pools:
        record = pools[pool]
        amount0_in, amount1_in, amount0_out, amount1_out = words
        if record.current is None:
            return
        if record.start is None:
            record.start = (
                record.current[0] - amount0_in + amount0_out,
                record.current[1] - amount1_in + amount1_out,
            )
        record.swaps.append((visit.path, 1 if amount0_out > 0 else -1))


def _read_pool(visit: evidence.Visit, pools: dict[str, _Pool]) -> str | None:
    """The pool a frame reads the spot state of: getReserves() on it or balanceOf(it)."""
    frame = visit.frame
    if (
        not evidence.succeeded(frame)
        or frame.type not in ("STATICCALL", "CALL")
        or not visit.ancestors
    ):
        return None
    if frame.selector == GET_RESERVES and evidence.lower(frame.to) in pools:
        return evidence.lower(frame.to)
    if frame.selector == BALANCE_OF and len(frame.input) >= 74:
        holder = "0x" + frame.input[34:74].lower()
        return holder if holder in pools else None
    return None


def _payouts(frame: CallFrame, payer: str, path: tuple[int, ...]) -> list[tuple[str, Amount]]:
    """ETH calls and ERC-20 `Transfer`s out of `payer` in `frame`'s subtree (at `path`)."""
    moved: list[tuple[str, Amount]] = []
    for visit in evidence.visits(frame):
        inner, where = visit.frame, evidence.path_text((*path, *visit.path))
        if not evidence.succeeded(inner) or visit.static:
            continue
        if (
            inner.value > 0
            and inner.type != "DELEGATECALL"
            and evidence.lower(inner.from_) == payer
        ):
            moved.append(
                (where, Amount(address=evidence.lower(inner.to), asset="ETH", amount=inner.value))
            )
        for log in inner.logs:
            topics = [topic.lower() for topic in log.topics]
            if len(topics) != 3 or topics[0] != TRANSFER_TOPIC or len(_words(log.data)) != 1:
                continue
            if "0x" + topics[1][-40:] == payer:
                recipient = "0x" + topics[2][-40:]
                amount = _words(log.data)[0]
                moved.append(
                    (
                        where,
                        Amount(address=recipient, asset=evidence.lower(log.address), amount=amount),
                    )
                )
    return moved


def _consumer(
    visit: evidence.Visit, pool: str, attackers: set[str]
) -> tuple[str, list[tuple[str, Amount]]] | None:
    """The nearest enclosing contract that paid value out after the read, and what it paid."""
    for depth in range(len(visit.ancestors) - 1, -1, -1):
        path, frame = visit.ancestors[depth]
        contract = evidence.context_of(frame)
        if contract in attackers or contract == pool:
            return None
        index = visit.path[len(path)]
        paid = [
            payout
            for position in range(index + 1, len(frame.calls))
            for payout in _payouts(frame.calls[position], contract, (*path, position))
        ]
        if paid:
            return contract, paid
    return None


ETHER = "ETH"
"""Native ETH, tracked like a token by `_BalancePools` from value-carrying calls."""


def _moves_ether(visit: evidence.Visit) -> bool:
    frame = visit.frame
    return (
        frame.value > 0
        and frame.type in ("CALL", "CALLCODE")
        and not visit.static
        and evidence.succeeded(frame)
    )


class _BalancePools:
    """AMM-like contracts known from their balances: each pool's two tokens, its balances before
    the tx, and the running change of each through the Transfer events seen so far."""

    def __init__(self, result: ReplayResult, attackers: set[str], known: set[str]) -> None:
        received: dict[str, dict[str, int]] = {}
        sent: dict[str, dict[str, int]] = {}
        logs = (
            log
            for _, frame in result.trace.walk()
            if evidence.succeeded(frame)
            for log in frame.logs
        )
        for log in logs:
            moved = erc20_transfer(log)
            if moved is None:
                continue
            token = evidence.lower(log.address)
            for table, holder in ((sent, moved[0]), (received, moved[1])):
                per = table.setdefault(holder, {})
                per[token] = per.get(token, 0) + moved[2]
        for visit in evidence.visits(result.trace):
            if _moves_ether(visit):
                frame = visit.frame
                for table, holder in (
                    (sent, evidence.lower(frame.from_)),
                    (received, evidence.lower(frame.to)),
                ):
                    per = table.setdefault(holder, {})
                    per[ETHER] = per.get(ETHER, 0) + frame.value
        self.tokens: dict[str, tuple[str, str]] = {}
        self.start: dict[tuple[str, str], int] = {}
        """Balance before the tx per (pool, token): read by the replay, or inferred from the
        first `balanceOf(pool)` the tx made (its output less the moves seen until then)."""
        for pool, came in received.items():
            went = sent.get(pool, {})
            if pool in attackers or pool in known or not went:
                continue
            token_in = max(came, key=lambda token: came[token])
            outs = [token for token in went if token != token_in]
            if not outs:
                continue
            token_out = max(outs, key=lambda token: went[token])
            pair = (min(token_in, token_out), max(token_in, token_out))
            self.tokens[pool] = pair
            for token in pair:
                before = evidence.balance_before(result, pool, token)
                if before:
                    self.start[pool, token] = before
        self.change: dict[tuple[str, str], int] = {}
        self.sends: dict[str, list[tuple[tuple[int, ...], int]]] = {}

    def on_log(self, visit: evidence.Visit, log: LogEntry) -> None:
        moved = erc20_transfer(log)
        if moved is None or not evidence.succeeded(visit.frame):
            return
        token = evidence.lower(log.address)
        source, target, amount = moved
        for holder, sign in ((source, -1), (target, 1)):
            if token in self.tokens.get(holder, ()):
                self.change[holder, token] = self.change.get((holder, token), 0) + sign * amount
        pair = self.tokens.get(source)
        if pair and token in pair:
            self.sends.setdefault(source, []).append((visit.path, 1 if token == pair[0] else -1))

    def on_value(self, visit: evidence.Visit) -> None:
        """Follow ETH moved by a value-carrying call (a pool trading native ETH)."""
        if not _moves_ether(visit):
            return
        frame = visit.frame
        source, target = evidence.lower(frame.from_), evidence.lower(frame.to)
        for holder, sign in ((source, -1), (target, 1)):
            if ETHER in self.tokens.get(holder, ()):
                self.change[holder, ETHER] = (
                    self.change.get((holder, ETHER), 0) + sign * frame.value
                )
        pair = self.tokens.get(source)
        if pair and ETHER in pair:
            self.sends.setdefault(source, []).append((visit.path, 1 if pair[0] == ETHER else -1))

    def move(self, pool: str) -> tuple[Fraction, int] | None:
        """Like `_Pool.move`: the factor the balance price moved by since the tx started."""
        first, second = self.tokens[pool]
        if (pool, first) not in self.start or (pool, second) not in self.start:
            return None
        start = (self.start[pool, first], self.start[pool, second])
        now = (
            start[0] + self.change.get((pool, first), 0),
            start[1] + self.change.get((pool, second), 0),
        )
        if min(now) <= 0:
            return None
        ratio = Fraction(now[1] * start[0], now[0] * start[1])
        return (ratio, 1) if ratio >= 1 else (1 / ratio, -1)

    def observe(self, visit: evidence.Visit) -> None:
        """Learn a missing balance before the tx from a `balanceOf(pool)` call's output."""
        frame = visit.frame
        if frame.selector != BALANCE_OF or len(frame.input) < 74 or not evidence.succeeded(frame):
            return
        holder, token = "0x" + frame.input[34:74].lower(), evidence.lower(frame.to)
        output = frame.output or ""
        if token not in self.tokens.get(holder, ()) or (holder, token) in self.start:
            return
        if len(output) == 66:
            seen = int(output, 16) - self.change.get((holder, token), 0)
            if seen > 0:
                self.start[holder, token] = seen

    def read(self, visit: evidence.Visit) -> str | None:
        """The pool a frame reads: any STATICCALL into it, or balanceOf(pool)."""
        frame = visit.frame
        if not evidence.succeeded(frame) or not visit.ancestors:
            return None
        if frame.type == "STATICCALL" and evidence.lower(frame.to) in self.tokens:
            return evidence.lower(frame.to)
        if frame.selector == BALANCE_OF and len(frame.input) >= 74:
            holder = "0x" + frame.input[34:74].lower()
            return holder if holder in self.tokens else None
        return None


def _cases(result: ReplayResult) -> list[_Case]:
    attackers = set(attacker_addresses(result))
    pools: dict[str, _Pool] = {}
    cases: dict[tuple[str, str], _Case] = {}
    synced = {
        evidence.lower(log.address)
        for log in result.trace.all_logs()
        if log.topics and log.topics[0].lower() == SYNC_TOPIC
    }
    balance_pools = _BalancePools(result, attackers, synced)
    for visit, log in _timeline(result.trace):
        if log is not None:
            _on_log(pools, visit, log)
            balance_pools.on_log(visit, log)
            continue
        balance_pools.observe(visit)
        balance_pools.on_value(visit)
        pool = _read_pool(visit, pools)
        swaps: list[tuple[tuple[int, ...], int]]
        if pool is not None:
            move = pools[pool].move()
            swaps = pools[pool].swaps
        else:
            pool = balance_pools.read(visit)
            if pool is None:
                continue
            move = balance_pools.move(pool)
            swaps = balance_pools.sends.setdefault(pool, [])
        if move is None or move[0] < MOVE_FACTOR:
            continue
        reader = evidence.context_of(visit.ancestors[-1][1])
        if reader == pool or reader in attackers:
            continue
        if any(evidence.context_of(frame) == pool for _, frame in visit.ancestors):
            continue  # read while the pool itself still runs: read-only reentrancy's field
        consumer = _consumer(visit, pool, attackers)
        if consumer is None or (pool, consumer[0]) in cases:
            continue
        payer, paid = consumer
        cases[pool, payer] = _Case(
            pool=pool,
            payer=payer,
            reader=reader,
            read_path=visit.path,
            selector=visit.frame.selector or "",
            factor=move[0],
            direction=move[1],
            move_frames=[path for path, _ in swaps],
            payouts=paid,
            swaps_before=len(swaps),
        )
    for case in cases.values():
        record = pools.get(case.pool)
        every = record.swaps if record else balance_pools.sends.get(case.pool, [])
        later = every[case.swaps_before :]
        back = [path for path, direction in later if direction == -case.direction]
        case.swap_back = back[0] if back else None
    return list(cases.values())


def _flash_funded(result: ReplayResult, move: tuple[int, ...]) -> bool:
    frame = result.trace
    for index in move:
        if frame.selector in FLASH_CALLBACKS:
            return True
        frame = frame.calls[index]
    return frame.selector in FLASH_CALLBACKS


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per (manipulated pool, contract that paid out after reading it)."""
    findings: list[Finding] = []
    for case in _cases(result):
        swapped_back = case.swap_back is not None
        moves = case.move_frames
        factor = f"{float(case.factor):.1f}"
        what = {GET_RESERVES: "getReserves()", BALANCE_OF: "balanceOf(pool)"}.get(
            case.selector, f"a view {case.selector or '(no selector)'}"
        )
        payer = "then paid" if case.payer == case.reader else f"then {case.payer} paid"
        read_at = evidence.path_text(case.read_path)
        signals = [
            f"swaps moved pool {case.pool}'s spot price {factor}x before it was read",
            f"{case.reader} read the pool ({what}) at {read_at} after the move; {payer} value out",
        ]
        if swapped_back:
            signals.append("a later swap in the same pool went the opposite way (swap back)")
        lost = evidence.losses_of(result, case.payer)
        if lost:
            signals.append(f"{case.payer} lost value over the transaction")
        if any(_flash_funded(result, path) for path in moves):
            signals.append("the price-moving swap ran inside a flash-loan callback")
        severity = evidence.severity_for_loss(result, case.payer) if lost else "low"
        drained = evidence.amounts_text(lost)
        paid = ", ".join(evidence.amount_text(a.asset, a.amount) for _, a in case.payouts)
        addresses = list(dict.fromkeys([case.payer, case.pool, case.reader]))
        findings.append(
            Finding(
                detector=NAME,
                vulnerability_class=VulnerabilityClass.PRICE_MANIPULATION,
                severity=severity,
                confidence=evidence.confidence_from(len(signals) - 1),
                title=f"Spot price of pool {case.pool} manipulated before {case.payer} used it",
                explanation=(
                    f"Swaps moved pool {case.pool}'s spot price {factor}x; then {case.reader} read "
                    f"the pool ({what}, frame {read_at}) and {case.payer} paid out {paid} "
                    "at that price"
                    + (", and the pool was swapped back afterwards" if swapped_back else "")
                    + (f". {case.payer} lost {drained} over the transaction." if lost else ".")
                ),
                recommendation=(
                    "Never price assets from a pool's spot reserves or balances: use a "
                    "time-weighted average price (Uniswap TWAP) or an external oracle "
                    "(e.g. Chainlink) with sanity bounds, and reject prices that moved within the "
                    "same block."
                ),
                evidence=Evidence(
                    frames=[
                        *(evidence.path_text(path) for path in moves),
                        read_at,
                        *dict.fromkeys(frame for frame, _ in case.payouts),
                        *(
                            [evidence.path_text(case.swap_back)]
                            if case.swap_back is not None
                            else []
                        ),
                    ],
                    addresses=addresses,
                    selectors=[case.selector],
                    amounts=[
                        *(Amount(address=case.payer, asset=a, amount=v) for a, v in lost.items()),
                        *(amount for _, amount in case.payouts),
                    ],
                    signals=signals,
                ),
            )
        )
    return findings
