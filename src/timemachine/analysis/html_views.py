"""Reusable HTML view components over the trace models: a collapsible, searchable call tree, a
fund-flow sequence diagram (numbered steps in execution order), storage changes per contract, a
gas profile per frame, and tables that fit the page.

Each component returns an XHTML fragment (every element closed; chain data escaped by `esc`) that
works offline; `VIEW_CSS` and `VIEW_SCRIPT` go once in the page's head and end. The analysis
report composes them; the web console can serve the same fragments.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from timemachine.models import CallFrame, LogEntry, StateDiff, TokenTransfer
from timemachine.trace.naming import Naming
from timemachine.trace.order import EmissionOrder
from timemachine.trace.render import call_text, log_text, result_text

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: Storage slots whose meaning a standard fixes (EIP-1967 proxies).
KNOWN_SLOTS = {
    "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc": "EIP-1967 implementation",
    "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103": "EIP-1967 admin",
    "0xa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50": "EIP-1967 beacon",
}
FLOW_COLUMN = 190
FLOW_ROW = 30
FLOW_HEAD = 56
FLOW_MAX_STEPS = 400
GAS_ROWS = 40

VIEW_CSS = """
code { overflow-wrap: anywhere; word-break: break-all; }
.scroll { overflow-x: auto; max-width: 100%; }
table.fit { width: 100%; table-layout: auto; }
table.fit td { overflow-wrap: anywhere; word-break: break-word; }
table.fit td code { word-break: break-all; }
table.fit th { white-space: nowrap; }
.calltree .tree-controls { display: flex; gap: .5em; align-items: center; margin: .5em 0; }
.calltree input[type=search] { flex: 1; max-width: 32em; padding: .3em .5em; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: .9em; }
ul.tree { padding-left: 0; font-family: ui-monospace, Menlo, Consolas, monospace;
  font-size: .82em; overflow-x: auto; }
ul.tree ul { border-left: 1px dotted #bbb; }
ul.tree li { white-space: pre-wrap; overflow-wrap: anywhere; min-width: 36em; }
ul.tree summary { cursor: pointer; }
ul.tree .failed > details > summary, ul.tree li.ret.failed { color: #b3261e; }
ul.tree li.log { color: #0b6e79; }
ul.tree li.ret { color: #555; }
ul.tree .hit { background: #fff3a3; }
svg.steps { border: 1px solid #ddd; background: #fcfcfd; }
svg.steps text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; }
svg.steps .lifeline { stroke: #bbb; stroke-dasharray: 4 3; }
svg.steps .head rect { fill: #e8eaed; stroke: #333; }
svg.steps .head.attacker rect { fill: #f6c7c3; } svg.steps .head.victim rect { fill: #c8e6c9; }
svg.steps .step path { fill: none; stroke: #555; stroke-width: 1.4; }
svg.steps .step.eth path { stroke: #1a73e8; }
svg.steps .step text { paint-order: stroke; stroke: #fcfcfd; stroke-width: 4px; }
.bar { display: inline-block; height: .7em; background: #f29900; vertical-align: middle; }
@media print {
  body { margin: 0; font-size: 10pt; }
  .tree-controls, .noprint { display: none; }
  .scroll { overflow: visible; }
  section, .finding, tr { break-inside: avoid-page; }
  svg { max-width: 100%; height: auto; }
}
"""

VIEW_SCRIPT = """
(function () {
  var trees = document.querySelectorAll('[data-tree]');
  Array.prototype.forEach.call(trees, function (root) {
    var input = root.querySelector('input[type=search]');
    var count = root.querySelector('.tree-count');
    var items = root.querySelectorAll('summary, li.log, li.ret');
    function all(open) {
      Array.prototype.forEach.call(root.querySelectorAll('details'), function (d) {
        d.open = open;
      });
    }
    root.querySelector('[data-action=expand]').addEventListener('click', function () {
      all(true);
    });
    root.querySelector('[data-action=collapse]').addEventListener('click', function () {
      all(false);
    });
    input.addEventListener('input', function () {
      var query = input.value.trim().toLowerCase();
      var hits = 0;
      Array.prototype.forEach.call(items, function (item) {
        var hit = query !== '' && item.textContent.toLowerCase().indexOf(query) !== -1;
        item.classList.toggle('hit', hit);
        if (!hit) { return; }
        hits += 1;
        for (var up = item.parentElement; up !== null && up !== root; up = up.parentElement) {
          if (up.tagName === 'DETAILS') { up.open = true; }
        }
      });
      count.textContent = query === '' ? '' : hits + (hits === 1 ? ' match' : ' matches');
      var first = root.querySelector('.hit');
      if (first !== null) { first.scrollIntoView({block: 'nearest'}); }
    });
  });
})();
"""


def esc(value: object) -> str:
    """Text for an element or attribute: HTML-escaped, without XML-forbidden control characters."""
    return html.escape(_CONTROL.sub("\ufffd", str(value)), quote=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    """A table from already-escaped cells that fits the page (long values wrap, never overflow);
    columns in `numeric` are right-aligned."""
    head = "".join(f"<th>{header}</th>" for header in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{cell}</td>' if index in numeric else f"<td>{cell}</td>"
            for index, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return "<p>None.</p>"
    return (
        f'<div class="scroll"><table class="fit"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def frame_anchor(path: str) -> str:
    """The element id of a frame of the call tree (`root`, `calls[1].calls[0]`)."""
    return "frame-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def path_text(path: tuple[int, ...]) -> str:
    return ".".join(f"calls[{index}]" for index in path) or "root"


def call_tree(trace: CallFrame, naming: Naming) -> str:
    """The whole call tree (no depth limit) as nested <details>, with search and expand/collapse.

    Each frame shows `[gas] Name::function(decoded args)` like the text tree, its logs at their
    emission position and its `← [Return]` line; failed frames are red. Built iteratively (a
    1,024-deep tree is fine)."""
    labels = naming.display_labels()
    order = EmissionOrder(trace)
    parts = [
        '<div class="calltree" data-tree="">'
        '<div class="tree-controls">'
        '<input type="search" placeholder="Search calls, events, names, addresses" '
        'aria-label="Search the call tree"/>'
        '<button type="button" data-action="expand">Expand all</button>'
        '<button type="button" data-action="collapse">Collapse all</button>'
        '<span class="tree-count"></span></div><ul class="tree">'
    ]
    stack: list[tuple[CallFrame, tuple[int, ...], Iterator[LogEntry | CallFrame], int]] = []

    def enter(frame: CallFrame, path: tuple[int, ...]) -> None:
        where = path_text(path)
        state = "failed" if frame.error else "ok"
        parts.append(
            f'<li class="frame {state}" id="{frame_anchor(where)}"><details open="">'
            f'<summary title="{esc(where)}">{esc(call_text(frame, labels))}</summary><ul>'
        )
        stack.append((frame, path, iter(order.items(frame)), 0))

    enter(trace, ())
    while stack:
        frame, path, items, child = stack[-1]
        item = next(items, None)
        if item is None:
            state = " failed" if frame.error else ""
            parts.append(
                f'<li class="ret{state}">{esc(result_text(frame, labels))}</li></ul></details></li>'
            )
            stack.pop()
        elif isinstance(item, LogEntry):
            parts.append(f'<li class="log">{esc(log_text(item, labels))}</li>')
        else:
            stack[-1] = (frame, path, items, child + 1)
            enter(item, (*path, child))
    parts.append("</ul></div>")
    return "".join(parts)


@dataclass(frozen=True)
class Roles:
    """Who is attacker-controlled and who lost value (colours the diagram's participants)."""

    attackers: frozenset[str]
    victims: frozenset[str]

    def of(self, address: str) -> str:
        lowered = address.lower()
        if lowered in self.attackers:
            return "attacker"
        return "victim" if lowered in self.victims else "other"


def _clip(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flow_name(address: str, naming: Naming) -> str:
    name = naming.label(address)
    return name if name else f"{address[:6]}…{address[-4:]}"


def fund_flow_steps(transfers: Sequence[TokenTransfer], naming: Naming, roles: Roles) -> str:
    """Every value movement as a numbered arrow between participants' lifelines, top to bottom
    in execution order (a sequence diagram): each step has its own row, so no label overlaps
    another. Participants carry names; amounts carry symbols."""
    steps = list(transfers)[:FLOW_MAX_STEPS]
    if not steps:
        return "<p>No value moved.</p>"
    participants = list(dict.fromkeys(a.lower() for t in steps for a in (t.from_, t.to)))
    column = {address: index for index, address in enumerate(participants)}
    width = 20 + FLOW_COLUMN * len(participants)
    height = FLOW_HEAD + FLOW_ROW * len(steps) + 16

    def x_of(address: str) -> float:
        return 10 + FLOW_COLUMN * (column[address.lower()] + 0.5)

    parts = [
        f'<svg class="steps" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="Fund flow, step by step">'
        '<defs><marker id="step-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker>'
        "</defs>"
    ]
    for address in participants:
        x = x_of(address)
        name = _flow_name(address, naming)
        parts.append(
            f'<g class="head {roles.of(address)}"><title>{esc(naming.address(address))} '
            f"({roles.of(address)})</title>"
            f'<rect x="{x - FLOW_COLUMN / 2 + 6:.0f}" y="8" width="{FLOW_COLUMN - 12}" '
            'height="30" rx="4"/>'
            f'<text x="{x:.0f}" y="27" text-anchor="middle">{esc(_clip(name))}</text></g>'
            f'<line class="lifeline" x1="{x:.0f}" y1="38" x2="{x:.0f}" y2="{height - 8}"/>'
        )
    for number, transfer in enumerate(steps, 1):
        y = FLOW_HEAD + FLOW_ROW * (number - 0.5) + 8
        x1, x2 = x_of(transfer.from_), x_of(transfer.to)
        asset = "ETH" if transfer.standard == "ETH" else (transfer.token or "?")
        amount = naming.amount(asset, transfer.amount)
        if transfer.standard == "ERC721":
            amount = f"{naming.symbol(asset)} #{transfer.token_id}"
        label = f"{number}. {amount}"
        if x1 == x2:
            path = f"M {x1:.0f} {y - 6:.0f} h 30 v 12 h -28"
            lx, anchor = x1 + 36, "start"
        else:
            inset = 4 if x2 > x1 else -4
            path = f"M {x1:.0f} {y:.0f} L {x2 - inset:.0f} {y:.0f}"
            lx, anchor = (x1 + x2) / 2, "middle"
        title = f"step {number}: {naming.address(transfer.from_)} → {naming.address(transfer.to)}"
        kind = "eth" if asset == "ETH" else "token"
        parts.append(
            f'<g class="step {kind}"><title>{esc(title)}: {esc(amount)}</title>'
            f'<path d="{path}" marker-end="url(#step-arrow)"/>'
            f'<text x="{lx:.0f}" y="{y - 5:.0f}" text-anchor="{anchor}">{esc(label)}</text></g>'
        )
    parts.append("</svg>")
    note = ""
    if len(transfers) > FLOW_MAX_STEPS:
        note = f"<p>The first {FLOW_MAX_STEPS} of {len(transfers)} steps; the table sums all.</p>"
    return f'<div class="scroll">{"".join(parts)}</div>{note}'


def storage_changes(state_diff: StateDiff, naming: Naming) -> str:
    """Every storage slot the transaction changed, per contract, before and after (slot names
    where a standard fixes them)."""
    sections = []
    for address, after in state_diff.post.items():
        before = state_diff.pre.get(address)
        old = before.storage if before is not None else {}
        rows = [
            [
                _slot_cell(slot),
                f"<code>{esc(old.get(slot, '0x0'))}</code>",
                f"<code>{esc(value)}</code>",
            ]
            for slot, value in sorted(after.storage.items())
            if _word(old.get(slot)) != _word(value)
        ]
        if rows:
            title = f"<h3>{esc(naming.address(address))}: {len(rows)} slot(s)</h3>"
            sections.append(title + table(["Slot", "Before", "After"], rows, set()))
    return "".join(sections) or "<p>No storage changed.</p>"


def _slot_cell(slot: str) -> str:
    known = KNOWN_SLOTS.get(slot.lower())
    return f"<code>{esc(slot)}</code>" + (f"<br/><small>{esc(known)}</small>" if known else "")


def _word(value: str | None) -> int:
    try:
        return int(value or "0x0", 16)
    except ValueError:
        return -1


def _frames(trace: CallFrame) -> Iterator[tuple[tuple[int, ...], CallFrame]]:
    stack: list[tuple[tuple[int, ...], CallFrame]] = [((), trace)]
    while stack:
        path, frame = stack.pop()
        yield path, frame
        stack.extend(((*path, i), child) for i, child in reversed(list(enumerate(frame.calls))))


def gas_profile(trace: CallFrame, naming: Naming, limit: int = GAS_ROWS) -> str:
    """Frames by the gas they used themselves (without their children), largest first, with the
    inclusive figure and the share of the whole transaction; each links to the tree."""
    labels: Mapping[str, str] = naming.display_labels()
    total = trace.gas_used or 1
    ranked = sorted(
        (
            (frame.gas_used - sum(child.gas_used for child in frame.calls), path, frame)
            for path, frame in _frames(trace)
        ),
        key=lambda item: (-item[0], item[1]),
    )
    rows = []
    for own, path, frame in ranked[:limit]:
        where = path_text(path)
        share = 100 * max(own, 0) / total
        call = call_text(frame, labels).split("] ", 1)[-1]
        shown = where if len(path) <= 2 else "…" + path_text(path[-2:])
        rows.append(
            [
                f'<a href="#{frame_anchor(where)}" title="{esc(where)}"><code>{esc(shown)}</code>'
                f"</a> <small>depth {len(path)}</small>",
                f"<code>{esc(_clip(call, 160))}</code>",
                f"{frame.gas_used:,}",
                f"{own:,}",
                f'<span class="bar" style="width: {share:.1f}px"></span> {share:.1f}%',
            ]
        )
    note = f"<p>{min(limit, len(ranked))} of {len(ranked)} frames, by own gas.</p>"
    return note + table(["Frame", "Call", "Gas", "Own gas", "Share"], rows, {2, 3, 4})
