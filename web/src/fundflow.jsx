import { useEffect, useRef, useState } from "preact/hooks";
import { amount, asset, short } from "./format.js";

const WIDTH = 720;
const HEIGHT = 440;

/** Addresses on a circle, edges as arrows; wheel zooms, drag pans, a click focuses an address. */
export function FundFlow({ flow, roles = {} }) {
  const [view, setView] = useState({ x: 0, y: 0, k: 1 });
  const [focus, setFocus] = useState(null);
  const svg = useRef(null);
  const drag = useRef(null);
  const nodes = flow?.nodes ?? [];
  useEffect(() => {
    const el = svg.current;
    if (!el) return undefined;
    const wheel = (event) => {
      event.preventDefault();
      const factor = event.deltaY < 0 ? 1.15 : 1 / 1.15;
      setView((v) => ({ ...v, k: Math.min(8, Math.max(0.25, v.k * factor)) }));
    };
    el.addEventListener("wheel", wheel, { passive: false });
    return () => el.removeEventListener("wheel", wheel);
  }, [nodes.length]);
  if (!nodes.length) return <p class="muted">No value moved.</p>;
  const radius = Math.min(WIDTH, HEIGHT) / 2 - 60;
  const at = new Map(
    nodes.map((node, i) => {
      const angle = (2 * Math.PI * i) / nodes.length - Math.PI / 2;
      return [node, [WIDTH / 2 + radius * Math.cos(angle), HEIGHT / 2 + radius * Math.sin(angle)]];
    }),
  );
  const touches = (edge) => !focus || edge.source === focus || edge.target === focus;
  return (
    <div class="fundflow">
      <div class="toolbar">
        <button onClick={() => setView({ ...view, k: Math.min(8, view.k * 1.25) })}>+</button>
        <button onClick={() => setView({ ...view, k: Math.max(0.25, view.k / 1.25) })}>−</button>
        <button onClick={() => { setView({ x: 0, y: 0, k: 1 }); setFocus(null); }}>Reset</button>
        {focus && <span class="muted">focused on <code>{short(focus)}</code></span>}
      </div>
      <svg
        ref={svg}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        class="flow-svg"
        role="img"
        aria-label="Fund flow graph"
        onMouseDown={(event) => (drag.current = { x: event.clientX, y: event.clientY, from: view })}
        onMouseMove={(event) => {
          if (!drag.current) return;
          const { x, y, from } = drag.current;
          setView({ ...from, x: from.x + (event.clientX - x), y: from.y + (event.clientY - y) });
        }}
        onMouseUp={() => (drag.current = null)}
        onMouseLeave={() => (drag.current = null)}
      >
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="22" refY="5" markerWidth="6" markerHeight="6" orient="auto">
            <path d="M0,0 L10,5 L0,10 z" class="arrow" />
          </marker>
        </defs>
        <g transform={`translate(${view.x} ${view.y}) scale(${view.k})`}>
          {flow.edges.map((edge) => {
            const [x1, y1] = at.get(edge.source);
            const [x2, y2] = at.get(edge.target);
            const mx = (x1 + x2) / 2 + (y2 - y1) * 0.15;
            const my = (y1 + y2) / 2 - (x2 - x1) * 0.15;
            return (
              <g class={touches(edge) ? "edge" : "edge dim"}>
                <path d={`M${x1},${y1} Q${mx},${my} ${x2},${y2}`} marker-end="url(#arrow)" />
                <text x={mx} y={my} class="edge-label">
                  {amount(edge.amount)} {asset(edge.asset)}
                </text>
              </g>
            );
          })}
          {nodes.map((node) => {
            const [x, y] = at.get(node);
            return (
              <g
                class={`node${focus === node ? " focused" : ""} ${roles[node.toLowerCase()] ?? ""}`}
                data-address={node}
                onClick={() => setFocus(focus === node ? null : node)}
              >
                <circle cx={x} cy={y} r="14" />
                <text x={x} y={y + 28} text-anchor="middle">
                  {short(node)}
                </text>
              </g>
            );
          })}
        </g>
      </svg>
    </div>
  );
}
