import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { Table } from "../components.jsx";

export function Sessions() {
  const [page, setPage] = useState(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api("/api/time-machine/sessions?limit=100").then(setPage, (failure) => setError(failure.message));
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!page) return <p class="muted">Loading…</p>;
  return (
    <section>
      <h2>Sessions</h2>
      <Table
        columns={[
          ["Session", (s) => <a href={`#/session/${s.id}`}>{s.id.slice(0, 12)}</a>],
          ["Kind", (s) => s.kind],
          ["What", (s) => s.request.exploit_id ?? s.request.tx_hash ?? s.request.scenario_id ?? "—"],
          ["Status", (s) => s.status],
          ["Created", (s) => new Date(s.created_at).toLocaleString()],
        ]}
        rows={page.items}
        empty="No sessions yet: replay an exploit from the catalog."
      />
    </section>
  );
}
