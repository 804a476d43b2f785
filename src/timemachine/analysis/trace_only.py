"""Trace-only analysis: screening transactions that come with call traces alone (Parity
`trace_block`, geth callTracer flattened by `mev.sources`), no logs, receipts' logs or state.

Each transaction's flat traces are rebuilt into a call tree and wrapped in a replay result that
holds only what traces show: ETH moved by value-carrying frames and ERC-20 amounts moved by
`transfer` / `transferFrom` calls (their calldata), with net balance changes derived from them
(balances before the tx unknown). Only the detectors whose signals survive without logs or state
run (`SIGNALS`); the others would read nothing. Input: any objects with Parity flat-trace fields
(`mev.models.Trace` is one), so this module needs no trace-source code of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from timemachine.analysis import Detector, arbitrary_call, reentrancy, sort_findings
from timemachine.analysis.evidence import context_of, lower, succeeded, visits
from timemachine.analysis.profit import attacker_addresses
from timemachine.models.analysis import Finding, Severity, severity_rank
from timemachine.models.chain import BlockEnv
from timemachine.models.replay import Fidelity, ReceiptSummary, ReplayResult
from timemachine.models.trace import (
    BalanceChange,
    CallFrame,
    CallType,
    StateDiff,
    TokenTransfer,
)

#: The reduced set of signals trace-only analysis runs, by detector, with what each still sees.
SIGNALS: dict[str, tuple[Detector, str]] = {
    reentrancy.NAME: (
        reentrancy.detect,
        "re-entry of a contract in a state-changing frame while it was handing control away, "
        "with ETH or ERC-20 transfer calls at stake (callback-hook form included); the read-only "
        "and cross-contract forms need the state diff and do not run",
    ),
    arbitrary_call.NAME: (
        arbitrary_call.detect,
        "transferFrom of a third party's tokens with calldata injected by the caller, amounts "
        "from the call's arguments",
    ),
}
TRANSFER = "0xa9059cbb"
TRANSFER_FROM = "0x23b872dd"
_KINDS: dict[str, CallType] = {
    "call": "CALL",
    "staticcall": "STATICCALL",
    "delegatecall": "DELEGATECALL",
    "callcode": "CALLCODE",
}


class FlatTrace(Protocol):
    """A Parity flat trace, as `mev.models.Trace` holds one."""

    @property
    def transaction_hash(self) -> str | None: ...
    @property
    def transaction_position(self) -> int | None: ...
    @property
    def trace_address(self) -> tuple[int, ...]: ...
    @property
    def type(self) -> str: ...
    @property
    def call_type(self) -> str | None: ...
    @property
    def from_address(self) -> str | None: ...
    @property
    def to_address(self) -> str | None: ...
    @property
    def value(self) -> int: ...
    @property
    def input(self) -> str: ...
    @property
    def output(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True)
class Screened:
    """One transaction's trace-only findings (most severe first)."""

    tx_hash: str
    findings: list[Finding]

    def above(self, severity: str = "low") -> list[Finding]:
        rank = severity_rank(severity)  # type: ignore[arg-type]
        return [f for f in self.findings if severity_rank(f.severity) < rank]


def _frame(trace: FlatTrace) -> CallFrame:
    kind: CallType
    if trace.type == "create":
        kind = "CREATE"
    elif trace.type == "suicide":
        kind = "SELFDESTRUCT"
    else:
        kind = _KINDS.get(trace.call_type or "call", "CALL")
    return CallFrame.model_construct(
        type=kind,
        from_=trace.from_address or "",
        to=trace.to_address,
        value=trace.value,
        gas=0,
        gas_used=0,
        input=trace.input if kind not in ("CREATE", "SELFDESTRUCT") else "0x",
        output=trace.output,
        error=trace.error,
        revert_reason=None,
        decoded=None,
        logs=[],
        calls=[],
    )


def call_trees(traces: Iterable[FlatTrace]) -> Iterator[tuple[str, int, CallFrame]]:
    """(tx hash, position, call tree) per transaction, in the order the traces list them.

    A failed frame's error is inherited by its subtree (Parity lists reverted children without
    an error of their own)."""
    roots: dict[str, tuple[int, CallFrame]] = {}
    frames: dict[tuple[str, tuple[int, ...]], CallFrame] = {}
    for trace in traces:
        if trace.transaction_hash is None or trace.type == "reward":
            continue
        frame = _frame(trace)
        address = tuple(trace.trace_address)
        frames[trace.transaction_hash, address] = frame
        if not address:
            roots[trace.transaction_hash] = (trace.transaction_position or 0, frame)
            continue
        parent = frames.get((trace.transaction_hash, address[:-1]))
        if parent is not None:
            if parent.error is not None and frame.error is None:
                frame.error = parent.error
            parent.calls.append(frame)
    for tx_hash, (position, root) in roots.items():
        yield tx_hash, position, root


def _word(data: str, index: int) -> int:
    start = 10 + 64 * index
    chunk = data[start : start + 64]
    return int(chunk, 16) if len(chunk) == 64 else -1


def _moves(root: CallFrame) -> list[TokenTransfer]:
    """ETH moved by value-carrying frames and ERC-20 amounts moved by transfer calls."""
    moved: list[TokenTransfer] = []
    for visit in visits(root):
        frame = visit.frame
        if not succeeded(frame) or visit.static:
            continue
        if frame.value and frame.type in ("CALL", "CREATE", "SELFDESTRUCT") and frame.to:
            moved.append(
                TokenTransfer.model_construct(
                    standard="ETH",
                    token=None,
                    from_=lower(frame.from_),
                    to=lower(frame.to),
                    amount=frame.value,
                    token_id=None,
                    symbol=None,
                    decimals=None,
                    log_index=None,
                )
            )
        selector = frame.selector
        if frame.type != "CALL" or selector not in (TRANSFER, TRANSFER_FROM):
            continue
        words = [_word(frame.input, i) for i in range(3 if selector == TRANSFER_FROM else 2)]
        if min(words) < 0 or max(words[:-1]) >= 2**160:
            continue
        addresses = [f"0x{word:040x}" for word in words[:-1]]
        source, target = (
            (lower(frame.from_), addresses[0]) if selector == TRANSFER else tuple(addresses)
        )
        moved.append(
            TokenTransfer.model_construct(
                standard="ERC20",
                token=lower(frame.to),
                from_=source,
                to=target,
                amount=words[-1],
                token_id=None,
                symbol=None,
                decimals=None,
                log_index=None,
            )
        )
    return moved


def _net(moved: Sequence[TokenTransfer]) -> list[BalanceChange]:
    table: dict[tuple[str, str], int] = {}
    for transfer in moved:
        asset = "ETH" if transfer.standard == "ETH" else transfer.token or ""
        for holder, sign in ((transfer.from_, -1), (transfer.to, 1)):
            table[holder, asset] = table.get((holder, asset), 0) + sign * transfer.amount
    return [
        BalanceChange.model_construct(
            address=holder,
            asset=asset,
            symbol=None,
            decimals=None,
            before=None,
            after=None,
            delta=delta,
            logged_delta=None,
        )
        for (holder, asset), delta in table.items()
    ]


def as_replay(tx_hash: str, position: int, root: CallFrame, **block: Any) -> ReplayResult:
    """A replay result holding only what the call tree shows (see the module docstring)."""
    moved = _moves(root)
    number = int(block.get("block_number", 0))
    return ReplayResult.model_construct(
        tx_hash=tx_hash,
        chain_id=int(block.get("chain_id", 1)),
        chain="trace-only",
        block_number=number,
        tx_index=position,
        hardfork="unknown",
        mode="exact",
        sender=lower(root.from_),
        to=lower(root.to) if root.to else None,
        block_env=BlockEnv.model_construct(
            number=number,
            timestamp=0,
            coinbase=block.get("coinbase") or "0x" + "0" * 40,
            gas_limit=0,
            base_fee=None,
        ),
        preceding_txs_replayed=0,
        original=None,
        replayed=ReceiptSummary.model_construct(
            status=0 if root.error else 1, gas_used=0, logs=[], contract_address=None
        ),
        fidelity=Fidelity.model_construct(verdict="unverified", differences=[], notes=[]),
        trace=root,
        state_diff=StateDiff(),
        token_transfers=moved,
        balance_changes=_net(moved),
        token_prices=[],
        timings={},
        rpc_requests=0,
    )


def _paid_inside_reentry(result: ReplayResult) -> set[str]:
    """Re-entered contracts that sent ETH or called a token transfer inside a nested entry: the
    drain pattern (a payout per entry). Without balances before the tx, this is what makes a
    trace-only re-entry more than "low"."""
    attackers = set(attacker_addresses(result))
    paying: set[str] = set()
    for contract, record in reentrancy.entered_contracts(result.trace, attackers).items():
        inner = {path for _, path in record.pairs}
        for path, frame in result.trace.walk():
            if not any(path[: len(entry)] == entry for entry in inner) or frame.error:
                continue
            pays = (frame.value > 0 and frame.type == "CALL") or frame.selector == TRANSFER
            if pays and lower(frame.from_) == contract:
                paying.add(contract)
                break
    return paying


def _trace_only_severity(result: ReplayResult, findings: list[Finding]) -> list[Finding]:
    """Severities without balances before the tx: at most "high"; a re-entry only above "low"
    when the contract paid out inside a nested entry."""
    paying = _paid_inside_reentry(result) if findings else set()
    adjusted: list[Finding] = []
    for finding in findings:
        severity: Severity = finding.severity
        if severity == "critical":
            severity = "high"
        if finding.detector == reentrancy.NAME and finding.evidence.addresses[0] not in paying:
            severity = "low"
        adjusted.append(finding.model_copy(update={"severity": severity}))
    return adjusted


def _worth_running(root: CallFrame) -> bool:
    """Whether any signal could fire: some contract entered again below a frame of its own with
    another contract in between, or a third-party pull (`transferFrom`) made. Most transactions
    have neither and skip building the replay result."""
    for visit in visits(root):
        frame = visit.frame
        if frame.selector in arbitrary_call.PULLS:
            return True
        if frame.type != "CALL" or not visit.ancestors:
            continue
        target = context_of(frame)
        if context_of(visit.ancestors[-1][1]) != target and any(
            context_of(ancestor) == target for _, ancestor in visit.ancestors
        ):
            return True
    return False


def screen(
    traces: Iterable[FlatTrace], *, block_number: int = 0, coinbase: str | None = None
) -> list[Screened]:
    """Trace-only findings of every transaction in `traces`, in transaction order."""
    screened: list[Screened] = []
    for tx_hash, position, root in call_trees(traces):
        if not _worth_running(root):
            screened.append(Screened(tx_hash, []))
            continue
        result = as_replay(tx_hash, position, root, block_number=block_number, coinbase=coinbase)
        findings = [f for detect, _ in SIGNALS.values() for f in detect(result)]
        screened.append(Screened(tx_hash, sort_findings(_trace_only_severity(result, findings))))
    return screened
