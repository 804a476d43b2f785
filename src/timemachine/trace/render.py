"""Renderers over the trace models: a `cast run`-style call tree, balance changes, fidelity.

The tree follows Foundry's trace writer (revm-inspectors `TraceWriter`, as `cast run` 1.7.1 prints
it): `[gasUsed]` before each call, `Label::function(args)` with `{value: …}` and ` [staticcall]`
style kind markers, `→ new Name@0x…` for creations, `emit Event(name: value)` at the log's
emission position (undecoded logs as `emit topic 0: …` / `data: …` lines), and `← [Return] …`,
`← [Revert] reason`, `← [Stop]`, `← [OutOfGas] EvmError: OutOfGas` footers; undecoded revert data
shows as `custom error 0x<selector>: <hex>`; integers >= 10,000 carry a `[1e18]` hint.
Colors: green for successful calls, red for failed ones, yellow for kind markers, cyan for logs.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from timemachine.hexutil import hex_to_bytes
from timemachine.models import BalanceChange, CallFrame, Fidelity, LogEntry
from timemachine.trace.formatting import (
    format_address,
    format_units,
    format_value,
    lookup_label,
    normalize_labels,
)
from timemachine.trace.naming import Naming
from timemachine.trace.order import EmissionOrder

PIPE = "  │ "
BRANCH = "  ├─ "
EDGE = "  └─ "
CALL_STYLE_OK = "green"
CALL_STYLE_FAILED = "red"
KIND_STYLE = "yellow"
LOG_STYLE = "cyan"

_KIND_MARKERS = {
    "STATICCALL": " [staticcall]",
    "DELEGATECALL": " [delegatecall]",
    "CALLCODE": " [callcode]",
}
_STATUS_BY_ERROR = (
    ("execution reverted", "Revert"),
    ("reverted", "Revert"),
    ("contract creation code storage out of gas", "OutOfGas"),
    ("out of gas", "OutOfGas"),
    ("gas uint64 overflow", "OutOfGas"),
    ("invalid opcode: invalid", "InvalidFEOpcode"),
    ("invalid opcode", "OpcodeNotFound"),
    ("invalid jump destination", "InvalidJump"),
    ("stack underflow", "StackUnderflow"),
    ("stack limit reached", "StackOverflow"),
    ("out of stack", "StackOverflow"),
    ("write protection", "StateChangeDuringStaticCall"),
    ("max call depth exceeded", "CallTooDeep"),
    ("insufficient balance for transfer", "OutOfFunds"),
    ("contract address collision", "CreateCollision"),
    ("max initcode size exceeded", "CreateInitCodeSizeLimit"),
    ("max code size exceeded", "CreateContractSizeLimit"),
    ("invalid code: must not begin with 0xef", "CreateContractStartingWithEF"),
    ("return data out of bounds", "OutOfOffset"),
    ("precompiled failed", "PrecompileError"),
)
"""geth / revm-inspectors callTracer error messages mapped to revm's InstructionResult names."""


def ether(wei: int) -> str:
    """A call's value in ether, exact, with its unit (cast prints bare wei)."""
    return f"{format_units(wei, 18)} ETH"


def status_of(frame: CallFrame) -> str:
    """The frame's outcome as Foundry names it: Stop, Return, Revert, OutOfGas, ..."""
    if frame.type == "SELFDESTRUCT" and not frame.error:
        return "SelfDestruct"
    if not frame.error:
        return "Return" if _has_output(frame) else "Stop"
    lowered = frame.error.lower()
    for needle, status in _STATUS_BY_ERROR:
        if lowered.startswith(needle):
            return status
    return frame.error if frame.error.isalnum() else "Error"


def _has_output(frame: CallFrame) -> bool:
    return bool(frame.output) and frame.output not in ("0x", "0X")


class _Lines:
    """Accumulates styled lines with Foundry's tree prefixes."""

    def __init__(self) -> None:
        self.text = Text()

    def line(self, prefix: str, *parts: tuple[str, str | None]) -> None:
        self.text.append(prefix)
        for content, style in parts:
            self.text.append(content, style=style)
        self.text.append("\n")


def _indent(level: int) -> str:
    return "  " + PIPE * max(level - 1, 0)


def _branch(level: int) -> str:
    return _indent(level) + (BRANCH if level else "")


def _args(values: Sequence[tuple[str, str, object]], labels: Mapping[str, str] | None) -> str:
    return ", ".join(
        (f"{name}: " if name else "") + format_value(type_, value, labels=labels)
        for name, type_, value in values
    )


def _call_label(address: str | None, labels: Mapping[str, str] | None) -> str:
    if address is None:
        return "<unknown>"
    return lookup_label(address, labels) or address


def _function(frame: CallFrame, labels: Mapping[str, str] | None) -> tuple[str, str]:
    if frame.decoded is not None:
        args = _args([("", arg.type, arg.value) for arg in frame.decoded.args], labels)
        return frame.decoded.name, args
    data = hex_to_bytes(frame.input) or b""
    if not data:
        return ("receive" if frame.value else "fallback"), ""
    if len(data) < 4:
        return "fallback", data.hex()
    return data[:4].hex(), data[4:].hex()


def _header(frame: CallFrame, labels: Mapping[str, str] | None) -> list[tuple[str, str | None]]:
    gas = f"[{frame.gas_used}] "
    style = CALL_STYLE_FAILED if frame.error else CALL_STYLE_OK
    if frame.type in ("CREATE", "CREATE2"):
        name = lookup_label(frame.to, labels) or "<unknown>"
        where = f"@{frame.to}" if frame.to else ""
        return [(gas, None), ("→ new", KIND_STYLE), (f" {name}{where}", style)]
    if frame.type == "SELFDESTRUCT":
        target = format_address(frame.to, labels) if frame.to else "<unknown>"
        value = f"{{value: {ether(frame.value)}}}" if frame.value else ""
        owner = _call_label(frame.from_, labels)
        return [(gas, None), (f"{owner}::selfdestruct", style), (f"{value}({target})", None)]
    name, args = _function(frame, labels)
    parts: list[tuple[str, str | None]] = [
        (gas, None),
        (f"{_call_label(frame.to, labels)}::{name}", style),
    ]
    if frame.value and frame.type != "DELEGATECALL":
        parts.append((f"{{value: {ether(frame.value)}}}", None))
    parts.append((f"({args})", None))
    if frame.type in _KIND_MARKERS:
        parts.append((_KIND_MARKERS[frame.type], KIND_STYLE))
    return parts


def _footer(frame: CallFrame, labels: Mapping[str, str] | None) -> list[tuple[str, str | None]]:
    status = status_of(frame)
    style = CALL_STYLE_FAILED if frame.error else CALL_STYLE_OK
    parts: list[tuple[str, str | None]] = [(f"← [{status}]", style)]
    detail = _footer_detail(frame, status, labels)
    if detail:
        parts.append((f" {detail}", None))
    return parts


def _footer_detail(frame: CallFrame, status: str, labels: Mapping[str, str] | None) -> str:
    if not frame.error:
        if frame.type in ("CREATE", "CREATE2"):
            return f"{len(hex_to_bytes(frame.output or '0x') or b'')} bytes of code"
        if frame.decoded is not None and frame.decoded.outputs:
            return _args([("", arg.type, arg.value) for arg in frame.decoded.outputs], labels)
        return frame.output or "" if _has_output(frame) else ""
    if status != "Revert":
        return f"EvmError: {status}"
    if frame.revert_reason:
        return frame.revert_reason
    data = hex_to_bytes(frame.output) or b""
    if len(data) >= 4:
        rest = data[4:].hex()
        return f"custom error 0x{data[:4].hex()}" + (f": {rest}" if rest else "")
    return f"0x{data.hex()}" if data else "EvmError: Revert"


def _log_lines(out: _Lines, log: LogEntry, level: int, labels: Mapping[str, str] | None) -> None:
    if log.event is not None:
        args = _args([(arg.name, arg.type, arg.value) for arg in log.event.args], labels)
        out.line(_branch(level), ("emit ", None), (f"{log.event.name}({args})", LOG_STYLE))
        return
    pipes = _indent(level) + PIPE
    if not log.topics:
        out.line(_branch(level), ("          data: ", None), (log.data, LOG_STYLE))
        return
    for number, topic in enumerate(log.topics):
        if number == 0:
            out.line(_branch(level), (" emit topic 0: ", None), (topic, LOG_STYLE))
        else:
            out.line(pipes, (f"       topic {number}: ", None), (topic, LOG_STYLE))
    out.line(pipes, ("          data: ", None), (log.data, LOG_STYLE))


def _count_frames(frame: CallFrame) -> int:
    count, stack = 0, [frame]
    while stack:
        current = stack.pop()
        count += 1
        stack.extend(current.calls)
    return count


def _grouped(
    items: list[LogEntry | CallFrame], prune: bool
) -> Iterator[LogEntry | CallFrame | int]:
    """Items, with runs of child calls replaced by their frame count when pruning."""
    hidden = 0
    for item in items:
        if prune and isinstance(item, CallFrame):
            hidden += _count_frames(item)
            continue
        if hidden:
            yield hidden
            hidden = 0
        yield item
    if hidden:
        yield hidden


def render_trace(
    trace: CallFrame,
    *,
    labels: Mapping[str, str] | None = None,
    max_depth: int | None = None,
    title: str | None = "Traces:",
) -> Text:
    """The call tree as styled text, like `cast run`.

    `labels` maps addresses to names (any case). With `max_depth`, frames deeper than it are
    folded into a `… N more frames` line at the place they were called.
    """
    labels = normalize_labels(labels)
    out = _Lines()
    if title:
        out.text.append(f"{title}\n")
    order = EmissionOrder(trace)
    out.line(_branch(0), *_header(trace, labels))
    prune = max_depth is not None and max_depth <= 0
    stack = [(trace, 0, _grouped(order.items(trace), prune))]
    while stack:
        frame, level, items = stack[-1]
        item = next(items, None)
        if item is None:
            out.line(_indent(level + 1) + EDGE, *_footer(frame, labels))
            stack.pop()
        elif isinstance(item, int):
            noun = "frame" if item == 1 else "frames"
            out.line(_branch(level + 1), (f"… {item} more {noun}", "dim"))
        elif isinstance(item, LogEntry):
            _log_lines(out, item, level + 1, labels)
        else:
            out.line(_branch(level + 1), *_header(item, labels))
            prune = max_depth is not None and level + 1 >= max_depth
            stack.append((item, level + 1, _grouped(order.items(item), prune)))
    out.text.rstrip()
    return out.text


def render_trace_plain(
    trace: CallFrame,
    *,
    labels: Mapping[str, str] | None = None,
    max_depth: int | None = None,
    title: str | None = "Traces:",
) -> str:
    """`render_trace` without styles."""
    return render_trace(trace, labels=labels, max_depth=max_depth, title=title).plain


def _amount(naming: Naming, asset: str, amount: int | None, *, signed: bool = False) -> str:
    if amount is None:
        return "—"
    text = naming.units(asset, amount)
    return f"+{text}" if signed and amount > 0 else text


def render_balance_changes(
    changes: Sequence[BalanceChange],
    *,
    labels: Mapping[str, str] | None = None,
    naming: Naming | None = None,
    title: str | None = "Balance changes",
) -> Table:
    """A table of balance changes: names and symbols from `naming` (or `labels`), amounts in
    whole tokens with digit groups when decimals are known (ETH in ether)."""
    if naming is None:
        naming = Naming(labels=normalize_labels(labels))
        for change in changes:
            if change.asset != "ETH":
                naming.add_token(change.asset, change.symbol, change.decimals)
    table = Table(title=title)
    table.add_column("Address")
    table.add_column("Asset")
    table.add_column("Before", justify="right")
    table.add_column("After", justify="right")
    table.add_column("Delta", justify="right")
    for change in changes:
        table.add_row(
            naming.short(change.address),
            naming.symbol(change.asset),
            _amount(naming, change.asset, change.before),
            _amount(naming, change.asset, change.after),
            Text(
                _amount(naming, change.asset, change.delta, signed=True),
                style="green" if change.delta > 0 else "red",
            ),
        )
    return table


def render_fidelity(fidelity: Fidelity) -> Text:
    """The verdict: `exact` in green, `diverged` in red with every difference, notes dimmed."""
    style = {"exact": "bold green", "diverged": "bold red"}.get(fidelity.verdict, "bold yellow")
    text = Text("Fidelity: ")
    text.append(fidelity.verdict, style=style)
    for difference in fidelity.differences:
        text.append("\n  - ")
        text.append(difference.field, style="red")
        text.append(f": original {difference.original!r}, replayed {difference.replayed!r}")
        if difference.explanation:
            text.append(f" ({difference.explanation})")
    for note in fidelity.notes:
        text.append(f"\n  note: {note}", style="dim")
    return text


def to_plain(renderable: Table | Text, width: int = 120) -> str:
    """Any rich renderable as plain text (for tests and logs)."""
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(renderable)
    return buffer.getvalue()


def call_text(frame: CallFrame, labels: Mapping[str, str] | None = None) -> str:
    """A frame's line of the tree without its prefix: `[gas] Name::function(args)`."""
    return "".join(content for content, _ in _header(frame, normalize_labels(labels)))


def result_text(frame: CallFrame, labels: Mapping[str, str] | None = None) -> str:
    """A frame's closing line without its prefix: `← [Return] values`, `← [Revert] reason`."""
    return "".join(content for content, _ in _footer(frame, normalize_labels(labels)))


def log_text(log: LogEntry, labels: Mapping[str, str] | None = None) -> str:
    """A log as the tree shows it, on one line: `emit Event(name: value)` or its raw topics."""
    out = _Lines()
    _log_lines(out, log, 0, normalize_labels(labels))
    lines = (line.lstrip(" │├└─") for line in out.text.plain.splitlines())
    return "; ".join(" ".join(line.split()) for line in lines)
