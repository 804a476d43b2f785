import { useEffect, useState } from "preact/hooks";
import { socket } from "./api.js";

/** Horizontal bar chart (SVG): `rows` = [[label, value]], largest first. */
export function BarChart({ rows, format, title }) {
  const max = Math.max(1, ...rows.map(([, value]) => value));
  const height = Math.max(rows.length, 1) * 22 + 8;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {!rows.length && <p class="muted">No data.</p>}
      <svg viewBox={`0 0 600 ${height}`} height={height} preserveAspectRatio="xMinYMin meet" role="img" aria-label={title}>
        {rows.map(([label, value], i) => (
          <g transform={`translate(0 ${i * 22 + 4})`}>
            <text x="170" y="14" text-anchor="end" class="axis">
              {label}
            </text>
            <rect x="178" y="2" height="16" width={Math.max(1, (value / max) * 330)} class="bar" />
            <text x={184 + (value / max) * 330} y="14" class="axis">
              {format(value)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** Follows a session over /ws/sessions/{id}: its latest status event (null until the first). */
export function useSessionProgress(sessionId) {
  const [state, setState] = useState(null);
  useEffect(() => {
    if (!sessionId) return undefined;
    const ws = socket(`/ws/sessions/${sessionId}`, (event) => {
      if (event.status) setState(event);
    });
    return () => ws.close();
  }, [sessionId]);
  return state;
}

export function Progress({ state }) {
  if (!state) return <span class="muted">queued…</span>;
  return (
    <span class="progress" data-status={state.status}>
      <progress max="100" value={Number(state.progress ?? 0)} /> {state.status}
      {state.stage ? ` · ${state.stage}` : ""}
      {state.error ? ` · ${state.error}` : ""}
    </span>
  );
}

export const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export function Table({ columns, rows, empty = "Nothing yet.", rowProps = () => ({}) }) {
  if (!rows.length) return <p class="muted">{empty}</p>;
  return (
    <table>
      <thead>
        <tr>
          {columns.map(([label]) => (
            <th>{label}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => (
          <tr {...rowProps(row, i)}>
            {columns.map(([, cell]) => (
              <td>{cell(row)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
