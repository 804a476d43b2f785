"""Compare two runs of a transaction: the original receipt, a replay, or a what-if replay.

Pure functions over the models (no I/O). Logs are aligned by (emitter, event signature) with a
longest-matching-subsequence diff, so an extra log in the middle shows as one added log, not as
every later log changed. Swaps are Uniswap V2 `Swap` events; the token that went in (out) is the
one an ERC-20 `Transfer` moved to (from) the pair by exactly that amount in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Literal

from eth_utils.crypto import keccak

from timemachine.analysis.evidence import lower
from timemachine.models.analysis import AnalysisReport, Names, TokenInfo, severity_rank
from timemachine.models.compare import (
    BalanceDiff,
    Change,
    Comparison,
    FindingDiff,
    LogDiff,
    ProfitDiff,
    SwapDiff,
    SwapLeg,
    ValueDiff,
)
from timemachine.models.replay import ReplayResult
from timemachine.models.trace import BalanceChange, LogEntry

Opcode = tuple[Literal["replace", "delete", "insert", "equal"], int, int, int, int]

SWAP_TOPIC = "0x" + keccak(text="Swap(address,uint256,uint256,uint256,uint256,address)").hex()
TRANSFER_TOPIC = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


@dataclass(frozen=True)
class TokenMeta:
    symbol: str | None
    decimals: int | None


@dataclass(frozen=True)
class Run:
    """One run as the comparison sees it. An original receipt has no balances or analysis."""

    label: str
    status: int
    gas_used: int
    revert_reason: str | None
    logs: list[LogEntry]
    balance_changes: list[BalanceChange] | None = None
    report: AnalysisReport | None = None
    tokens: dict[str, TokenMeta] = field(default_factory=dict)


def _tokens(result: ReplayResult) -> dict[str, TokenMeta]:
    tokens: dict[str, TokenMeta] = {}
    for transfer in result.token_transfers:
        if transfer.token:
            tokens[lower(transfer.token)] = TokenMeta(transfer.symbol, transfer.decimals)
    for change in result.balance_changes:
        if change.asset != "ETH":
            tokens.setdefault(lower(change.asset), TokenMeta(change.symbol, change.decimals))
    return tokens


def _decoded(logs: list[LogEntry], *traces: ReplayResult) -> list[LogEntry]:
    """`logs` (a receipt's), each with its event as the replay's trace decoded the same log."""
    events = {
        (lower(log.address), tuple(log.topics), log.data.lower()): log.event
        for result in traces
        for log in result.trace.all_logs()
        if log.event is not None
    }
    return [
        log
        if log.event is not None
        else log.model_copy(
            update={"event": events.get((lower(log.address), tuple(log.topics), log.data.lower()))}
        )
        for log in logs
    ]


def replay_run(result: ReplayResult, report: AnalysisReport | None, label: str) -> Run:
    """A replay (plain or what-if) and, when given, its analysis."""
    return Run(
        label=label,
        status=result.replayed.status,
        gas_used=result.replayed.gas_used,
        revert_reason=result.trace.revert_reason or result.trace.error,
        logs=_decoded(result.replayed.logs, result),
        balance_changes=list(result.balance_changes),
        report=report,
        tokens=_tokens(result),
    )


def original_run(result: ReplayResult) -> Run:
    """The original receipt of a replayed transaction (status, gas, logs only)."""
    if result.original is None:
        from timemachine.errors import InvalidInputError

        raise InvalidInputError(f"{result.tx_hash} was never mined: there is no original run")
    return Run(
        label="original",
        status=result.original.status,
        gas_used=result.original.gas_used,
        revert_reason=None,
        logs=_decoded(result.original.logs, result),
        tokens=_tokens(result),
    )


def _value(left: int | str | None, right: int | str | None) -> ValueDiff:
    return ValueDiff(left=left, right=right, changed=left != right)


def _log_key(log: LogEntry) -> tuple[str, str | None]:
    return lower(log.address), (log.topics[0].lower() if log.topics else None)


def _event(left: LogEntry | None, right: LogEntry | None) -> str | None:
    for log in (left, right):
        if log is not None and log.event is not None:
            return log.event.name
    return None


_LCS_CELLS = 4_000_000
"""Above this many cells the exact LCS is too slow in Python; difflib's heuristic is used."""


def _opcodes(a: list[tuple[str, str | None]], b: list[tuple[str, str | None]]) -> list[Opcode]:
    """difflib-style opcodes of a longest common subsequence of `a` and `b`.

    difflib's SequenceMatcher anchors on the longest contiguous block, which on runs of equal
    keys (many Transfer logs of one token) can pair the wrong logs; the exact LCS does not.
    """
    n, m = len(a), len(b)
    if n * m > _LCS_CELLS:
        return list(SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes())
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i] == b[j] else max(below[j], row[j + 1])
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    opcodes: list[Opcode] = []
    i = j = 0
    for pi, pj in [*pairs, (n, m)]:
        if i < pi:
            opcodes.append(("delete", i, pi, j, j))
        if j < pj:
            opcodes.append(("insert", pi, pi, j, pj))
        if (pi, pj) != (n, m):
            opcodes.append(("equal", pi, pi + 1, pj, pj + 1))
        i, j = pi + 1, pj + 1
    return opcodes


def _log_diff(
    left: LogEntry | None,
    right: LogEntry | None,
    left_index: int | None,
    right_index: int | None,
    fields: list[str] | None = None,
) -> LogDiff:
    """A log only one run emitted (removed or added), or emitted by both with `fields` differing."""
    change: Change = "added" if left is None else "removed" if right is None else "changed"
    emitted = left or right
    assert emitted is not None
    return LogDiff(
        change=change,
        left_index=left_index,
        right_index=right_index,
        address=emitted.address,
        event=_event(left, right),
        fields=fields or [],
        left=left,
        right=right,
    )


def compare_logs(left: list[LogEntry], right: list[LogEntry]) -> list[LogDiff]:
    """Added, removed and changed logs, aligned by emitter and event signature (LCS)."""
    diffs: list[LogDiff] = []
    opcodes = _opcodes([_log_key(log) for log in left], [_log_key(log) for log in right])
    for tag, a0, a1, b0, b1 in opcodes:
        if tag == "equal":
            for i, j in zip(range(a0, a1), range(b0, b1), strict=True):
                fields = [
                    f"topics[{n}]"
                    for n in range(max(len(left[i].topics), len(right[j].topics)))
                    if left[i].topics[n : n + 1] != right[j].topics[n : n + 1]
                ]
                if left[i].data.lower() != right[j].data.lower():
                    fields.append("data")
                if fields:
                    diffs.append(_log_diff(left[i], right[j], i, j, fields))
            continue
        diffs += [_log_diff(left[i], None, i, None) for i in range(a0, a1)]
        diffs += [_log_diff(None, right[j], None, j) for j in range(b0, b1)]
    return diffs


def compare_balances(left: list[BalanceChange], right: list[BalanceChange]) -> list[BalanceDiff]:
    """Every (address, asset) either run changed, with both deltas; unchanged pairs left out."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    meta: dict[tuple[str, str], BalanceChange] = {}
    for side, changes in (("left", left), ("right", right)):
        for change in changes:
            key = (lower(change.address), lower(change.asset) if change.asset != "ETH" else "ETH")
            rows.setdefault(key, {})[side] = rows.get(key, {}).get(side, 0) + change.delta
            meta.setdefault(key, change)
    diffs = []
    for key, sides in rows.items():
        a, b = sides.get("left", 0), sides.get("right", 0)
        if a == 0 and b == 0:
            continue
        diffs.append(
            BalanceDiff(
                address=meta[key].address,
                asset=meta[key].asset,
                symbol=meta[key].symbol,
                decimals=meta[key].decimals,
                left=a,
                right=b,
                difference=b - a,
            )
        )
    return diffs


def compare_findings(left: AnalysisReport, right: AnalysisReport) -> list[FindingDiff]:
    """Per vulnerability class, the most severe finding of each run, where they differ."""

    def by_class(report: AnalysisReport) -> dict[str, tuple[str, str]]:
        best: dict[str, tuple[str, str]] = {}
        ranked = sorted(report.findings, key=lambda finding: severity_rank(finding.severity))
        for finding in ranked:
            best.setdefault(finding.vulnerability_class.value, (finding.severity, finding.title))
        return best

    a, b = by_class(left), by_class(right)
    diffs = []
    for name in dict.fromkeys([*a, *b]):
        was, now = a.get(name), b.get(name)
        if was is not None and now is not None and was[0] == now[0]:
            continue
        diffs.append(
            FindingDiff(
                vulnerability_class=name,
                change="added" if was is None else "removed" if now is None else "changed",
                left_severity=was[0] if was else None,
                right_severity=now[0] if now else None,
                title=(now or was or ("", ""))[1],
            )
        )
    return diffs


def compare_profit(left: AnalysisReport, right: AnalysisReport) -> list[ProfitDiff]:
    """Attacker-side net gain per asset in both runs."""
    a = {value.asset: value for value in left.profit.values}
    b = {value.asset: value for value in right.profit.values}
    rows = []
    for asset in dict.fromkeys([*a, *b]):
        la, rb = a.get(asset), b.get(asset)
        lg, rg = (la.net_gain if la else 0), (rb.net_gain if rb else 0)
        rows.append(
            ProfitDiff(
                asset=asset,
                left=lg,
                right=rg,
                difference=rg - lg,
                left_eth=la.net_gain_eth if la else 0,
                right_eth=rb.net_gain_eth if rb else 0,
            )
        )
    return rows


@dataclass(frozen=True)
class _Swap:
    pair: str
    token_in: str | None
    token_out: str | None
    amount_in: int
    amount_out: int
    log_index: int | None


def _words(data: str) -> list[int]:
    body = data[2:] if data.startswith("0x") else data
    return [int(body[i : i + 64], 16) for i in range(0, len(body) - 63, 64)]


def _topic_address(topic: str) -> str:
    return "0x" + topic[-40:].lower()


def swaps_in(logs: list[LogEntry]) -> list[_Swap]:
    """Uniswap V2 `Swap` events with the tokens that went in and out (from `Transfer` logs)."""
    transfers = [
        (lower(log.address), _topic_address(log.topics[1]), _topic_address(log.topics[2]), words[0])
        for log in logs
        if len(log.topics) == 3
        and log.topics[0].lower() == TRANSFER_TOPIC
        and len(words := _words(log.data)) == 1
    ]
    swaps = []
    for position, log in enumerate(logs):
        if not log.topics or log.topics[0].lower() != SWAP_TOPIC or len(log.topics) != 3:
            continue
        words = _words(log.data)
        if len(words) != 4:
            continue
        in0, in1, out0, out1 = words
        pair = lower(log.address)
        amount_in, amount_out = (in0, out1) if in0 else (in1, out0)
        token_in = next(
            (t for t, _, to, amount in transfers if to == pair and amount == amount_in), None
        )
        token_out = next(
            (t for t, src, _, amount in transfers if src == pair and amount == amount_out), None
        )
        swaps.append(
            _Swap(
                pair=pair,
                token_in=token_in,
                token_out=token_out,
                amount_in=amount_in,
                amount_out=amount_out,
                log_index=log.index if log.index is not None else position,
            )
        )
    return swaps


def execution_price(
    amount_in: int, amount_out: int, decimals_in: int | None, decimals_out: int | None
) -> float:
    """token_out per token_in in whole tokens (base units when decimals are unknown)."""
    if amount_in == 0:
        return 0.0
    if decimals_in is None or decimals_out is None:
        return amount_out / amount_in
    return float(amount_out * 10**decimals_in) / float(amount_in * 10**decimals_out)


def _leg(swap: _Swap | None, meta_in: TokenMeta, meta_out: TokenMeta) -> SwapLeg | None:
    if swap is None:
        return None
    return SwapLeg(
        log_index=swap.log_index,
        amount_in=swap.amount_in,
        amount_out=swap.amount_out,
        price=execution_price(swap.amount_in, swap.amount_out, meta_in.decimals, meta_out.decimals),
    )


def compare_swaps(left: Run, right: Run) -> list[SwapDiff]:
    """The n-th swap through each pair in both runs, with prices and PnL differences."""
    tokens = {**left.tokens, **right.tokens}

    def grouped(run: Run) -> dict[str, list[_Swap]]:
        groups: dict[str, list[_Swap]] = {}
        for swap in swaps_in(run.logs):
            groups.setdefault(swap.pair, []).append(swap)
        return groups

    a, b = grouped(left), grouped(right)
    diffs = []
    for pair in dict.fromkeys([*a, *b]):
        la, lb = a.get(pair, []), b.get(pair, [])
        for n in range(max(len(la), len(lb))):
            sa = la[n] if n < len(la) else None
            sb = lb[n] if n < len(lb) else None
            token_in = (sa.token_in if sa else None) or (sb.token_in if sb else None)
            token_out = (sa.token_out if sa else None) or (sb.token_out if sb else None)
            meta_in = tokens.get(token_in or "", TokenMeta(None, None))
            meta_out = tokens.get(token_out or "", TokenMeta(None, None))

            left_leg = _leg(sa, meta_in, meta_out)
            right_leg = _leg(sb, meta_in, meta_out)
            pct = None
            if left_leg and right_leg and left_leg.price:
                pct = (right_leg.price / left_leg.price - 1) * 100
            diffs.append(
                SwapDiff(
                    pair=pair,
                    token_in=token_in,
                    token_out=token_out,
                    symbol_in=meta_in.symbol,
                    symbol_out=meta_out.symbol,
                    left=left_leg,
                    right=right_leg,
                    price_diff_pct=pct,
                    amount_in_diff=(sb.amount_in - sa.amount_in) if sa and sb else None,
                    amount_out_diff=(sb.amount_out - sa.amount_out) if sa and sb else None,
                )
            )
    return diffs


def _names(*runs: Run) -> Names:
    """Both runs' token metadata and their reports' labels."""
    names = Names()
    for run in runs:
        if run.report is not None:
            names.labels.update(run.report.names.labels)
            names.tokens.update(run.report.names.tokens)
        for address, meta in run.tokens.items():
            known = names.tokens.get(address, TokenInfo())
            names.tokens[address] = TokenInfo(
                symbol=meta.symbol or known.symbol,
                decimals=meta.decimals if meta.decimals is not None else known.decimals,
            )
    return names


def compare_runs(left: Run, right: Run) -> Comparison:
    """Everything that differs between `left` and `right`."""
    balances = None
    if left.balance_changes is not None and right.balance_changes is not None:
        balances = compare_balances(left.balance_changes, right.balance_changes)
    comparison = Comparison(
        left=left.label,
        right=right.label,
        status=_value(left.status, right.status),
        gas_used=_value(left.gas_used, right.gas_used),
        gas_difference=right.gas_used - left.gas_used,
        revert_reason=_value(left.revert_reason, right.revert_reason),
        logs=compare_logs(left.logs, right.logs),
        balances=balances,
        swaps=compare_swaps(left, right),
        names=_names(left, right),
    )
    if left.report is not None and right.report is not None:
        comparison.findings = compare_findings(left.report, right.report)
        comparison.profit = compare_profit(left.report, right.report)
        comparison.net_gain_eth = _value(
            left.report.profit.net_gain_eth, right.report.profit.net_gain_eth
        )
    return comparison
