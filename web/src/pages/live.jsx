import { useEffect, useState } from "preact/hooks";
import { api, canWrite, socket } from "../api.js";
import { Table } from "../components.jsx";
import { amount, short } from "../format.js";

const KEEP = 200;

function useFeed(path, initial, key) {
  const [items, setItems] = useState([]);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    let closed = false;
    initial().then((rows) => !closed && setItems(rows), () => {});
    const ws = socket(path, (message) => {
      if (message.type === "hello") setConnected(true);
      else if (message.type !== "error" && (message.tx || message.id)) {
        setItems((old) => [message, ...old.filter((item) => key(item) !== key(message))].slice(0, KEEP));
      }
    });
    ws.onclose = () => setConnected(false);
    return () => {
      closed = true;
      ws.close();
    };
  }, [path]);
  return [items, setItems, connected];
}

function query(filter) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value) params.set(name, String(value));
  return params.toString();
}

function Mempool() {
  const [filter, setFilter] = useState({ chain: "", address: "", kind: "", min_value: "", simulated_only: false });
  const wanted = query(filter);
  const [txs, , connected] = useFeed(
    `/ws/transactions${wanted ? `?${wanted}` : ""}`,
    async () => (await api(`/api/v1/monitor/transactions?limit=100${wanted ? `&${wanted}` : ""}`)).items.reverse(),
    (item) => item.tx.hash,
  );
  const set = (key) => (event) =>
    setFilter({ ...filter, [key]: event.currentTarget.type === "checkbox" ? event.currentTarget.checked : event.currentTarget.value.trim() });
  return (
    <div class="card">
      <h3>
        Mempool <span class={`dot ${connected ? "on" : ""}`} title={connected ? "live" : "disconnected"} />
      </h3>
      <div class="filters">
        <input placeholder="chain" aria-label="Chain filter" onChange={set("chain")} class="narrow" />
        <input placeholder="address (sender or target)" aria-label="Address filter" onChange={set("address")} />
        <select aria-label="Kind filter" onChange={set("kind")}>
          <option value="">any kind</option>
          {["transfer", "swap", "approval", "liquidity", "lending", "deploy", "contract_call", "unknown"].map((k) => (
            <option value={k}>{k}</option>
          ))}
        </select>
        <input placeholder="min value (wei)" aria-label="Minimum value" onChange={set("min_value")} class="narrow" />
        <label>
          <input type="checkbox" onChange={set("simulated_only")} /> simulated only
        </label>
      </div>
      <Table
        columns={[
          ["Hash", (t) => <code>{short(t.tx.hash)}</code>],
          ["Chain", (t) => t.tx.chain],
          ["From", (t) => <code>{short(t.tx.sender)}</code>],
          ["To", (t) => <code>{short(t.tx.to)}</code>],
          ["Value", (t) => `${amount(t.tx.value)} ETH`],
          ["Kind", (t) => t.enrichment?.kind],
          ["Status", (t) => t.status],
          [
            "Simulated",
            (t) =>
              t.simulation
                ? `${t.simulation.success ? "ok" : `reverts: ${t.simulation.revert_reason ?? t.simulation.error ?? ""}`}${t.simulation.findings?.length ? ` · ${t.simulation.findings[0].title}` : ""}`
                : "—",
          ],
        ]}
        rows={txs}
        rowProps={(t) => ({ "data-tx": t.tx.hash })}
        empty="No pending transaction yet."
      />
    </div>
  );
}

function Alerts({ me }) {
  const [alerts, setAlerts, connected] = useFeed(
    "/ws/alerts",
    () => api("/api/time-machine/alerts?limit=50"),
    (item) => item.id,
  );
  const [open, setOpen] = useState(null);
  const ack = async (alert) => {
    const updated = await api(`/api/time-machine/alerts/${alert.id}/ack`, { method: "POST" });
    setAlerts((old) => old.map((item) => (item.id === updated.id ? updated : item)));
  };
  const details = async (alert) => setOpen(await api(`/api/time-machine/alerts/${alert.id}`));
  return (
    <div class="card">
      <h3>
        Alerts <span class={`dot ${connected ? "on" : ""}`} />
      </h3>
      <Table
        columns={[
          ["Severity", (a) => <span class={`pill sev-${a.severity}`}>{a.severity}</span>],
          ["Rule", (a) => a.rule_id],
          ["Stage", (a) => a.stage],
          ["Tx", (a) => <code>{short(a.tx_hash)}</code>],
          ["Acked", (a) => (a.acked_at ? `by ${a.acked_by}` : canWrite(me.role) ? <button onClick={() => ack(a)}>Ack</button> : "no")],
          ["", (a) => <button class="ghost" onClick={() => details(a)}>details</button>],
        ]}
        rows={alerts}
        empty="No alert yet."
      />
      {open && (
        <div class="alert-detail">
          <h4>Alert {open.alert.id}</h4>
          <pre>{JSON.stringify(open.alert.payload, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}</pre>
          <Table
            columns={[
              ["Channel", (d) => d.channel],
              ["Status", (d) => d.status],
              ["Attempts", (d) => d.attempts],
              ["Last error", (d) => d.last_error ?? "—"],
            ]}
            rows={open.deliveries}
            empty="No delivery."
          />
        </div>
      )}
    </div>
  );
}

export function Live({ me }) {
  return (
    <section class="live">
      <h2>Live</h2>
      <Mempool />
      <Alerts me={me} />
    </section>
  );
}
