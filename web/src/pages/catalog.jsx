import { useEffect, useMemo, useState } from "preact/hooks";
import { api, canWrite } from "../api.js";
import { BarChart, Progress, TERMINAL, Table, useSessionProgress } from "../components.jsx";
import { usd } from "../format.js";

async function allExploits() {
  const items = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api(`/api/time-machine/exploits?limit=500&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || !page.items.length) return items;
  }
}

function lossesBy(records, key) {
  const sums = new Map();
  for (const record of records) {
    const name = key(record) ?? "unknown";
    sums.set(name, (sums.get(name) ?? 0) + (record.loss_usd ?? 0));
  }
  return [...sums].filter(([, value]) => value > 0).sort((a, b) => b[1] - a[1]).slice(0, 12);
}

function ReplayButton({ record }) {
  const [sessionId, setSessionId] = useState(null);
  const [error, setError] = useState("");
  const state = useSessionProgress(sessionId);
  const start = async () => {
    setError("");
    try {
      const started = await api("/api/time-machine/replay/exploit/start", {
        method: "POST",
        body: { exploit_id: record.id, options: { include_analysis: true, detailed_tracing: true } },
      });
      setSessionId(started.session_id);
    } catch (failure) {
      setError(failure.message);
    }
  };
  if (error) return <span class="error">{error}</span>;
  if (!sessionId) return <button onClick={start}>Replay</button>;
  return (
    <span class="replaying">
      <Progress state={state} />{" "}
      {state?.status === "completed" && <a href={`#/session/${sessionId}`}>Open transaction view</a>}
      {state && TERMINAL.has(state.status) && state.status !== "completed" && <a href={`#/session/${sessionId}`}>details</a>}
    </span>
  );
}

export function Catalog({ me }) {
  const [records, setRecords] = useState(null);
  const [error, setError] = useState("");
  const [filter, setFilter] = useState({ text: "", vclass: "", chain: "", year: "", minLoss: "", bundled: false });
  useEffect(() => {
    allExploits().then(setRecords, (failure) => setError(failure.message));
  }, []);
  const shown = useMemo(() => {
    if (!records) return [];
    const text = filter.text.toLowerCase();
    return records.filter(
      (record) =>
        (!text || record.name.toLowerCase().includes(text) || record.id.includes(text)) &&
        (!filter.vclass || record.vulnerability_class === filter.vclass) &&
        (!filter.chain || record.chain === filter.chain) &&
        (!filter.year || record.date?.startsWith(filter.year)) &&
        (!filter.minLoss || (record.loss_usd ?? 0) >= Number(filter.minLoss)) &&
        (!filter.bundled || record.replayable_offline),
    );
  }, [records, filter]);
  if (error) return <p class="error">{error}</p>;
  if (!records) return <p class="muted">Loading the catalog…</p>;
  const classes = [...new Set(records.map((r) => r.vulnerability_class))].sort();
  const chains = [...new Set(records.map((r) => r.chain).filter(Boolean))].sort();
  const years = [...new Set(records.map((r) => r.date?.slice(0, 4)).filter(Boolean))].sort().reverse();
  const set = (key) => (event) =>
    setFilter({ ...filter, [key]: event.currentTarget.type === "checkbox" ? event.currentTarget.checked : event.currentTarget.value });
  return (
    <section>
      <h2>Exploit catalog</h2>
      <div class="filters">
        <input placeholder="Search name" value={filter.text} onInput={set("text")} aria-label="Search exploits" />
        <select value={filter.vclass} onChange={set("vclass")} aria-label="Vulnerability class">
          <option value="">All classes</option>
          {classes.map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
        <select value={filter.chain} onChange={set("chain")} aria-label="Chain">
          <option value="">All chains</option>
          {chains.map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
        <select value={filter.year} onChange={set("year")} aria-label="Year">
          <option value="">All years</option>
          {years.map((y) => (
            <option value={y}>{y}</option>
          ))}
        </select>
        <input type="number" min="0" placeholder="min loss (USD)" value={filter.minLoss} onInput={set("minLoss")} aria-label="Minimum loss in USD" class="narrow" />
        <label>
          <input type="checkbox" checked={filter.bundled} onChange={set("bundled")} /> Replayable here
        </label>
        <span class="muted">{shown.length} of {records.length}</span>
      </div>
      <div class="charts">
        <BarChart title="Losses by class (USD)" rows={lossesBy(shown, (r) => r.vulnerability_class)} format={usd} />
        <BarChart title="Losses by chain (USD)" rows={lossesBy(shown, (r) => r.chain)} format={usd} />
        <BarChart title="Losses by year (USD)" rows={lossesBy(shown, (r) => r.date?.slice(0, 4)).sort((a, b) => a[0].localeCompare(b[0]))} format={usd} />
      </div>
      <Table
        columns={[
          ["Name", (r) => r.name],
          ["Class", (r) => r.vulnerability_class],
          ["Chain", (r) => r.chain ?? "—"],
          ["Date", (r) => r.date ?? "bundled"],
          ["Loss", (r) => usd(r.loss_usd)],
          ["", (r) => (r.replayable_offline && canWrite(me.role) ? <ReplayButton record={r} /> : null)],
        ]}
        rows={shown.slice(0, 200)}
        rowProps={(r) => ({ "data-exploit": r.id })}
        empty="No exploit matches."
      />
    </section>
  );
}
