import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { amount, gas, short } from "./format.js";
import { expandToDepth, flatten, hasChildren, reveal, search, visibleRows } from "./tree.js";

const ROW = 22;
const VIEW_ROWS = 24;
const OVERSCAN = 10;

function callLabel(frame) {
  if (frame.decoded) {
    const args = frame.decoded.args.map((arg) => `${arg.name || arg.type}=${formatValue(arg.value)}`).join(", ");
    return `${frame.decoded.name}(${args})`;
  }
  if (frame.type === "CREATE" || frame.type === "CREATE2") return "new contract";
  return frame.input && frame.input.length >= 10 ? frame.input.slice(0, 10) : "fallback()";
}

export function formatValue(value) {
  if (Array.isArray(value)) return `[${value.map(formatValue).join(", ")}]`;
  if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)) return short(value);
  if (typeof value === "string" && value.length > 24) return `${value.slice(0, 20)}…`;
  return String(value);
}

function Row({ node, open, selected, matched, onToggle, onSelect, top }) {
  const frame = node.frame;
  const failed = frame.error || frame.revert_reason;
  return (
    <div
      class={`row${selected ? " selected" : ""}${matched ? " matched" : ""}${failed ? " failed" : ""}`}
      style={{ top: `${top}px`, paddingLeft: `${6 + node.depth * 14}px` }}
      role="treeitem"
      aria-level={node.depth + 1}
      aria-expanded={hasChildren(node) ? open : undefined}
      aria-selected={selected}
      data-path={node.path}
      onClick={() => onSelect(node.index)}
    >
      <span
        class="twisty"
        onClick={(event) => {
          event.stopPropagation();
          onToggle(node.index);
        }}
      >
        {hasChildren(node) ? (open ? "▾" : "▸") : "·"}
      </span>
      <span class={`kind k-${frame.type}`}>{frame.type}</span>
      <span class="addr">{short(frame.to)}</span>
      <span class="call">{callLabel(frame)}</span>
      {BigInt(frame.value ?? 0) > 0n && <span class="value">{amount(frame.value)} ETH</span>}
      {frame.logs?.length > 0 && <span class="logs">{frame.logs.length} ev</span>}
      {failed && <span class="revert">✗ {frame.revert_reason || frame.error}</span>}
      <span class="gas">{gas(frame.gas_used)}</span>
    </div>
  );
}

export function FrameDetail({ node }) {
  if (!node) return <p class="muted">Select a frame.</p>;
  const frame = node.frame;
  return (
    <div class="frame-detail" data-path={node.path}>
      <h4>
        {frame.type} <code>{node.path}</code>
      </h4>
      <dl>
        <dt>from</dt>
        <dd><code>{frame.from}</code></dd>
        <dt>to</dt>
        <dd><code>{frame.to ?? "—"}</code></dd>
        <dt>value</dt>
        <dd>{amount(frame.value)} ETH</dd>
        <dt>gas</dt>
        <dd>{gas(frame.gas_used)} used of {gas(frame.gas)}</dd>
        {frame.decoded && (
          <>
            <dt>call</dt>
            <dd><code>{frame.decoded.signature}</code></dd>
            {frame.decoded.args.map((arg) => (
              <>
                <dt class="arg">{arg.name || arg.type}</dt>
                <dd><code>{String(arg.value)}</code></dd>
              </>
            ))}
            {(frame.decoded.outputs ?? []).map((arg) => (
              <>
                <dt class="arg">→ {arg.name || arg.type}</dt>
                <dd><code>{String(arg.value)}</code></dd>
              </>
            ))}
          </>
        )}
        {(frame.error || frame.revert_reason) && (
          <>
            <dt>reverted</dt>
            <dd class="error">{frame.revert_reason || frame.error}</dd>
          </>
        )}
      </dl>
      {frame.logs?.length > 0 && (
        <>
          <h5>Events</h5>
          <ul class="events">
            {frame.logs.map((log) => (
              <li>
                <code>{short(log.address)}</code>{" "}
                {log.event
                  ? `${log.event.name}(${log.event.args.map((a) => `${a.name}=${formatValue(a.value)}`).join(", ")})`
                  : log.topics[0]?.slice(0, 10)}
              </li>
            ))}
          </ul>
        </>
      )}
      <details>
        <summary>input / output</summary>
        <pre class="hex">{frame.input}</pre>
        <pre class="hex">{frame.output ?? ""}</pre>
      </details>
    </div>
  );
}

/** The call tree: virtualized rows, keyboard navigation, search, expand to depth N, focus. */
export function CallTree({ root, focus, onSelect }) {
  const nodes = useMemo(() => flatten(root), [root]);
  const [expanded, setExpanded] = useState(() => expandToDepth(nodes, 2));
  const [selected, setSelected] = useState(0);
  const [scrollTop, setScrollTop] = useState(0);
  const [query, setQuery] = useState("");
  const [depth, setDepth] = useState(3);
  const box = useRef(null);
  const rows = useMemo(() => visibleRows(nodes, expanded), [nodes, expanded]);
  const matches = useMemo(() => search(nodes, query), [nodes, query]);
  const matchSet = useMemo(() => new Set(matches), [matches]);

  const scrollTo = (index, shown) => {
    const position = shown.indexOf(index);
    const el = box.current;
    if (position < 0 || !el) return;
    const top = position * ROW;
    if (top < el.scrollTop || top > el.scrollTop + el.clientHeight - ROW) {
      el.scrollTop = Math.max(0, top - el.clientHeight / 3);
      setScrollTop(el.scrollTop);
    }
  };
  const select = (index, nextExpanded = expanded) => {
    const opened = reveal(nodes, nextExpanded, index);
    setExpanded(opened);
    setSelected(index);
    onSelect?.(nodes[index]);
    requestAnimationFrame(() => scrollTo(index, visibleRows(nodes, opened)));
  };
  useEffect(() => {
    const index = nodes.findIndex((node) => node.path === focus);
    if (index >= 0) select(index);
  }, [focus, nodes]);

  const toggle = (index) => {
    const next = new Set(expanded);
    if (next.has(index)) next.delete(index);
    else next.add(index);
    setExpanded(next);
  };
  const onKey = (event) => {
    const position = rows.indexOf(selected);
    const node = nodes[selected];
    const moves = {
      ArrowDown: () => position < rows.length - 1 && select(rows[position + 1]),
      ArrowUp: () => position > 0 && select(rows[position - 1]),
      ArrowRight: () => (hasChildren(node) && !expanded.has(selected) ? toggle(selected) : hasChildren(node) && select(selected + 1)),
      ArrowLeft: () => (expanded.has(selected) ? toggle(selected) : node.parent >= 0 && select(node.parent)),
      Enter: () => hasChildren(node) && toggle(selected),
      Home: () => select(0),
      End: () => select(rows[rows.length - 1]),
    };
    if (moves[event.key]) {
      event.preventDefault();
      moves[event.key]();
    }
  };
  const nextMatch = () => {
    if (!matches.length) return;
    select(matches.find((index) => index > selected) ?? matches[0]);
  };
  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(rows.length, first + VIEW_ROWS + 2 * OVERSCAN);
  return (
    <div class="calltree">
      <div class="toolbar">
        <input
          type="search"
          placeholder="Search calls, events, reverts"
          aria-label="Search the call tree"
          value={query}
          onInput={(event) => setQuery(event.currentTarget.value)}
          onKeyDown={(event) => event.key === "Enter" && nextMatch()}
        />
        <span class="muted">{query ? `${matches.length} match${matches.length === 1 ? "" : "es"}` : `${nodes.length} frames`}</span>
        <label>
          depth <input type="number" min="0" max="1024" value={depth} class="narrow" aria-label="Depth" onInput={(event) => setDepth(Number(event.currentTarget.value))} />
        </label>
        <button onClick={() => setExpanded(expandToDepth(nodes, depth))}>Expand to depth</button>
        <button onClick={() => setExpanded(expandToDepth(nodes, Infinity))}>Expand all</button>
        <button onClick={() => setExpanded(new Set())}>Collapse</button>
      </div>
      <div
        class="tree-box"
        ref={box}
        tabIndex={0}
        role="tree"
        aria-label="Call tree"
        onKeyDown={onKey}
        onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
        style={{ height: `${Math.min(VIEW_ROWS, Math.max(rows.length, 4)) * ROW + 4}px` }}
      >
        <div class="tree-inner" style={{ height: `${rows.length * ROW}px` }}>
          {rows.slice(first, last).map((index, offset) => (
            <Row
              key={index}
              node={nodes[index]}
              top={(first + offset) * ROW}
              open={expanded.has(index)}
              selected={index === selected}
              matched={matchSet.has(index)}
              onToggle={toggle}
              onSelect={(i) => select(i)}
            />
          ))}
        </div>
      </div>
      <span class="muted" data-testid="rows-shown">{rows.length} rows shown</span>
      <FrameDetail node={nodes[selected]} />
    </div>
  );
}
