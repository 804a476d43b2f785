import { useEffect, useState } from "preact/hooks";
import { api, canWrite, socket } from "../api.js";
import { Table } from "../components.jsx";
import { pretty } from "../download.js";
import { short } from "../format.js";

const KEEP = 500;
const when = (value) => (value ? new Date(typeof value === "number" ? value * 1000 : value).toLocaleString() : "—");

/** Stored alerts (filtered), new ones prepended as /ws/alerts announces them. */
function useAlerts(filter) {
  const [alerts, setAlerts] = useState(null);
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    let closed = false;
    const params = new URLSearchParams({ limit: "200" });
    if (filter.rule_id) params.set("rule_id", filter.rule_id);
    if (filter.acked) params.set("acked", filter.acked);
    api(`/api/time-machine/alerts?${params}`).then(
      (rows) => !closed && setAlerts(rows),
      (failure) => setError(failure.message),
    );
    const ws = socket("/ws/alerts", (message) => {
      if (message.type === "hello") setConnected(true);
      else if (message.id && (!filter.rule_id || message.rule_id === filter.rule_id) && filter.acked !== "true") {
        const fresh = { acked_at: null, acked_by: null, ...message };
        setAlerts((old) => [fresh, ...(old ?? []).filter((a) => a.id !== fresh.id)].slice(0, KEEP));
      }
    });
    ws.onclose = () => setConnected(false);
    return () => {
      closed = true;
      ws.close();
    };
  }, [filter.rule_id, filter.acked]);
  return { alerts, setAlerts, connected, error };
}

function Detail({ detail }) {
  const { alert, deliveries, attempts } = detail;
  return (
    <div class="card alert-detail" data-alert={alert.id}>
      <h3>
        Alert <code>{alert.id}</code> · {alert.rule_id}
      </h3>
      <p class="muted">
        {alert.chain} · {alert.stage} · raised {when(alert.created_at)}
        {alert.acked_at ? ` · acked by ${alert.acked_by} ${when(alert.acked_at)}` : " · not acked"}
      </p>
      <div class="grid two">
        <div>
          <h4>Deliveries</h4>
          <Table
            columns={[
              ["Channel", (d) => d.channel],
              ["Status", (d) => <span class={`pill ${d.status === "delivered" ? "ok" : d.status === "dead" ? "bad" : ""}`}>{d.status}</span>],
              ["Attempts", (d) => d.attempts],
              ["Delivered", (d) => when(d.delivered_at)],
              ["Last error", (d) => d.last_error ?? "—"],
            ]}
            rows={deliveries}
            rowProps={(d) => ({ class: "delivery", "data-channel": d.channel })}
            empty="No channel to deliver to."
          />
          <h4>Delivery history</h4>
          <Table
            columns={[
              ["At", (a) => when(a.at)],
              ["Channel", (a) => a.channel],
              ["Outcome", (a) => a.outcome],
              ["HTTP", (a) => a.status_code ?? "—"],
              ["Error", (a) => a.error ?? "—"],
            ]}
            rows={attempts}
            rowProps={() => ({ class: "attempt" })}
            empty="No attempt yet."
          />
        </div>
        <div>
          <h4>Evidence</h4>
          <pre>{pretty(alert.payload.evidence ?? alert.payload)}</pre>
        </div>
      </div>
    </div>
  );
}

export function Alerts({ me }) {
  const [filter, setFilter] = useState({ rule_id: "", acked: "" });
  const { alerts, setAlerts, connected, error } = useAlerts(filter);
  const [detail, setDetail] = useState(null);
  const [problem, setProblem] = useState("");
  const open = async (alert) => {
    setProblem("");
    try {
      setDetail(await api(`/api/time-machine/alerts/${alert.id}`));
    } catch (failure) {
      setProblem(failure.message);
    }
  };
  const ack = async (alert) => {
    setProblem("");
    try {
      const updated = await api(`/api/time-machine/alerts/${alert.id}/ack`, { method: "POST" });
      setAlerts((old) => old.map((item) => (item.id === updated.id ? updated : item)));
      if (detail?.alert.id === updated.id) setDetail({ ...detail, alert: updated });
    } catch (failure) {
      setProblem(failure.message);
    }
  };
  const set = (key) => (event) => setFilter({ ...filter, [key]: event.currentTarget.value.trim() });
  return (
    <section>
      <h2>
        Alerts <span class={`dot ${connected ? "on" : ""}`} title={connected ? "live" : "disconnected"} />
      </h2>
      <div class="filters">
        <input placeholder="rule id" aria-label="Rule filter" onChange={set("rule_id")} />
        <select aria-label="Acknowledged filter" onChange={set("acked")}>
          <option value="">acked or not</option>
          <option value="false">not acked</option>
          <option value="true">acked</option>
        </select>
        {alerts && <span class="muted" data-testid="alert-count">{alerts.length} alerts</span>}
      </div>
      {(error || problem) && <p class="error">{error || problem}</p>}
      {alerts === null ? (
        !error && <p class="muted">Loading…</p>
      ) : (
        <Table
          columns={[
            ["Raised", (a) => when(a.created_at)],
            ["Severity", (a) => <span class={`pill sev-${a.severity}`}>{a.severity}</span>],
            ["Rule", (a) => a.rule_id],
            ["Chain", (a) => a.chain],
            ["Stage", (a) => a.stage],
            ["Tx", (a) => <code>{short(a.tx_hash ?? "—")}</code>],
            [
              "Acked",
              (a) =>
                a.acked_at ? `by ${a.acked_by}` : canWrite(me.role) ? <button onClick={() => ack(a)}>Ack</button> : "no",
            ],
            [
              "",
              (a) => (
                <button class="ghost" onClick={() => open(a)}>
                  Details
                </button>
              ),
            ],
          ]}
          rows={alerts}
          rowProps={(a) => ({ "data-alert": a.id, class: `sev-${a.severity}` })}
          empty="No alert yet: they arrive here live as the monitor raises them."
        />
      )}
      {detail && <Detail detail={detail} />}
    </section>
  );
}
