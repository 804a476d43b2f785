import { useEffect, useState } from "preact/hooks";
import { api, socket } from "../api.js";
import { Table } from "../components.jsx";

const OPS = "/api/v1/operations";
const KEEP = 50;

function Pool({ pool }) {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState("");
  const measure = () => {
    setError("");
    api(`${OPS}/chains/${pool.name}/status`).then(setStatus, (failure) => setError(failure.message));
  };
  useEffect(measure, [pool.name]);
  const quorum = status?.quorum;
  return (
    <div class="card" data-pool={pool.name}>
      <h3>
        {pool.name} {status?.chain_id != null && <span class="muted">· chain {status.chain_id}</span>}{" "}
        <button class="ghost" onClick={measure}>
          Measure
        </button>
      </h3>
      {error && <p class="error">{error}</p>}
      {status ? (
        <>
          <p class="quorum" data-testid={`quorum-${pool.name}`}>
            {quorum ? `head ${quorum.number} (${quorum.agree} of ${quorum.of} agree, policy ${quorum.policy})` : `no quorum: ${status.quorum_error}`}
          </p>
          <Table
            columns={[
              ["Provider", (p) => <code>{p.url}</code>],
              ["Head", (p) => p.head ?? "—"],
              ["Lag", (p) => p.lag],
              ["Latency", (p) => (p.latency_ms == null ? "—" : `${p.latency_ms.toFixed(1)} ms`)],
              ["Health", (p) => <span class={`pill ${p.healthy ? "ok" : "bad"}`}>{p.healthy ? "ok" : p.benched ? `benched: ${p.benched}` : "lagging"}</span>],
              ["Requests", (p) => p.requests],
              ["Errors", (p) => Object.entries(p.errors).map(([kind, n]) => `${kind} ${n}`).join(", ") || "—"],
            ]}
            rows={status.providers}
            rowProps={(p) => ({ class: "provider", "data-url": p.url })}
          />
        </>
      ) : (
        !error && <p class="muted">Measuring {pool.providers.join(", ")}…</p>
      )}
    </div>
  );
}

function Workers() {
  const [state, setState] = useState(null);
  const [error, setError] = useState("");
  const load = () => {
    setError("");
    Promise.all([api(`${OPS}/queues`), api("/api/celery/workers"), api("/api/tasks/active")]).then(
      ([queues, workers, active]) => setState({ queues, workers, active }),
      (failure) => setError(failure.message),
    );
  };
  useEffect(load, []);
  if (error) return <p class="error">{error}</p>;
  if (!state) return <p class="muted">Asking the workers…</p>;
  const workers = Object.entries(state.workers.workers);
  return (
    <div class="card">
      <h3>
        Job queues and workers{" "}
        <button class="ghost" onClick={load}>
          Refresh
        </button>
      </h3>
      <p data-testid="worker-count">
        {workers.length} worker(s) · {state.active.tasks.length} task(s) running
      </p>
      {state.workers.note && <p class="muted">{state.workers.note}</p>}
      <div class="grid two">
        <Table
          columns={[
            ["Worker", ([name]) => <code>{name}</code>],
            ["Concurrency", ([, stats]) => stats?.pool?.["max-concurrency"] ?? "—"],
            ["Tasks done", ([, stats]) => Object.values(stats?.total ?? {}).reduce((a, b) => a + Number(b), 0)],
          ]}
          rows={workers}
          rowProps={([name]) => ({ class: "worker", "data-worker": name })}
          empty="No worker answered within 1 s."
        />
        <Table
          columns={[
            ["Queue", ([name]) => name],
            ["Waiting", ([, n]) => n],
          ]}
          rows={Object.entries(state.queues)}
          rowProps={([name]) => ({ class: "queue", "data-queue": name })}
          empty="The broker does not tell its queue lengths."
        />
      </div>
      <Table
        columns={[
          ["Running on", (t) => <code>{t.worker}</code>],
          ["Task", (t) => t.name],
          ["Id", (t) => <code>{t.id}</code>],
        ]}
        rows={state.active.tasks}
        empty="No task running."
      />
    </div>
  );
}

/** Session status events as /ws/status pushes them (replays, what-ifs, analyses). */
function Activity() {
  const [events, setEvents] = useState([]);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const ws = socket("/ws/status", (message) => {
      if (message.type === "hello") setConnected(true);
      else if (message.session_id) setEvents((old) => [message, ...old].slice(0, KEEP));
    });
    ws.onclose = () => setConnected(false);
    return () => ws.close();
  }, []);
  return (
    <div class="card">
      <h3>
        Job activity <span class={`dot ${connected ? "on" : ""}`} title={connected ? "live" : "disconnected"} />
      </h3>
      <Table
        columns={[
          ["Session", (e) => <a href={`#/session/${e.session_id}`}>{String(e.session_id).slice(0, 12)}</a>],
          ["Status", (e) => e.status],
          ["Stage", (e) => e.stage ?? "—"],
          ["Progress", (e) => (e.progress == null ? "—" : `${e.progress}%`)],
        ]}
        rows={events}
        empty="Nothing has happened since this page opened."
      />
    </div>
  );
}

export function Ops({ me }) {
  const [pools, setPools] = useState(null);
  const [error, setError] = useState("");
  const admin = me.role === "admin";
  useEffect(() => {
    if (admin) api(`${OPS}/chains`).then(setPools, (failure) => setError(failure.message));
  }, [admin]);
  if (!admin) return <p class="muted pad">Operations (providers, queues, workers) are shown to admins; you are {me.role}.</p>;
  return (
    <section>
      <h2>Operations</h2>
      <Workers />
      <Activity />
      <h3>Providers and chains</h3>
      {error && <p class="error">{error}</p>}
      {pools && !pools.length && <p class="muted">No provider configured (WEB3_RPC_URL, ETHEREUM_RPC_URLS, MONITOR_RPC_URLS…).</p>}
      {pools?.map((pool) => (
        <Pool pool={pool} />
      ))}
    </section>
  );
}
