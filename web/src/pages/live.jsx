import { useEffect, useState } from "preact/hooks";
import { api, socket } from "../api.js";
import { Alerts } from "./alerts.jsx";
import { Table } from "../components.jsx";
import { amount, short } from "../format.js";

const KEEP = 200;

/** Transactions from `initial()`, newer ones prepended (by `key`) as `path` pushes them. */
function useFeed(path, initial, key) {
  const [items, setItems] = useState([]);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    let closed = false;
    initial().then((rows) => !closed && setItems(rows), () => {});
    const ws = socket(path, (message) => {
      if (message.type === "hello") setConnected(true);
      else if (message.type !== "error" && message.tx) {
        setItems((old) => [message, ...old.filter((item) => key(item) !== key(message))].slice(0, KEEP));
      }
    });
    ws.onclose = () => setConnected(false);
    return () => {
      closed = true;
      ws.close();
    };
  }, [path]);
  return [items, connected];
}

function query(filter) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value) params.set(name, String(value));
  return params.toString();
}

function Mempool() {
  const [filter, setFilter] = useState({ chain: "", address: "", kind: "", min_value: "", simulated_only: false });
  const wanted = query(filter);
  const [txs, connected] = useFeed(
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

export function Live({ me }) {
  return (
    <section class="live">
      <h2>Live</h2>
      <Mempool />
      <Alerts me={me} />
    </section>
  );
}
