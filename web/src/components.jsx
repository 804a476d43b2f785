import { useEffect, useState } from "preact/hooks";
import { socket } from "./api.js";

const CHART_WIDTH = 420;
const LABEL_END = 118;
const BAR_MAX = 200;

/** Horizontal bar chart (SVG): `rows` = [[label, value]], largest first. */
export function BarChart({ rows, format, title }) {
  const max = Math.max(1, ...rows.map(([, value]) => value));
  const height = rows.length * 22 + 8;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {rows.length ? (
        <svg viewBox={`0 0 ${CHART_WIDTH} ${height}`} role="img" aria-label={title}>
          {rows.map(([label, value], i) => {
            const width = Math.max(1, (value / max) * BAR_MAX);
            return (
              <g transform={`translate(0 ${i * 22 + 4})`}>
                <text x={LABEL_END} y="14" text-anchor="end" class="axis">
                  {label.length > 18 ? `${label.slice(0, 17)}…` : label}
                </text>
                <rect x={LABEL_END + 6} y="2" height="16" width={width} class="bar" />
                <text x={LABEL_END + 12 + width} y="14" class="axis">
                  {format(value)}
                </text>
              </g>
            );
          })}
        </svg>
      ) : (
        <p class="muted">No data.</p>
      )}
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
