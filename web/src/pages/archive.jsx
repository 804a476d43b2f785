import { useEffect, useState } from "preact/hooks";
import { api, canWrite } from "../api.js";
import { Table } from "../components.jsx";
import { cell, downloadPost } from "../download.js";

const QUERY = "/api/v1/archive/query";
const MAX_ROWS = 1000;

function example(datasets) {
  const name = datasets[0]?.dataset ?? "blocks";
  return `SELECT block_number, count(*) AS rows\nFROM ${name}\nGROUP BY block_number\nORDER BY block_number\nLIMIT 100`;
}

/** The archive: its datasets, and one read-only SELECT over them (analysts), as a table or a
 * CSV / Parquet download. */
export function Archive({ me }) {
  const [datasets, setDatasets] = useState(null);
  const [sql, setSql] = useState("");
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api("/api/v1/archive").then(
      (found) => {
        setDatasets(found);
        setSql((old) => old || example(found));
      },
      (failure) => setError(failure.message),
    );
  }, []);
  const run = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    try {
      setAnswer(await api(QUERY, { method: "POST", body: { sql, max_rows: MAX_ROWS } }));
    } catch (failure) {
      setAnswer(null);
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  };
  const save = (format) => () =>
    downloadPost(QUERY, { sql, max_rows: 10_000, format }, `query.${format}`).catch((failure) => setError(failure.message));
  return (
    <section>
      <h2>Archive</h2>
      <div class="card">
        <h3>Datasets</h3>
        {datasets === null ? (
          <p class="muted">Loading…</p>
        ) : (
          <Table
            columns={[
              ["Dataset", (d) => <code>{d.dataset}</code>],
              ["Networks", (d) => d.networks.join(", ")],
              ["Chunk files", (d) => d.chunks],
            ]}
            rows={datasets}
            rowProps={(d) => ({ "data-dataset": d.dataset })}
            empty="Nothing archived yet: `timemachine archive extract` or ARCHIVE_CHAINS."
          />
        )}
      </div>
      {canWrite(me.role) ? (
        <form class="card form" onSubmit={run}>
          <label class="full">
            SQL (one SELECT; every dataset is a view named after it)
            <textarea name="sql" rows="7" spellcheck={false} value={sql} onInput={(e) => setSql(e.currentTarget.value)} />
          </label>
          <div class="full filters">
            <button type="submit" disabled={busy}>
              {busy ? "Running…" : "Run query"}
            </button>
            <button type="button" class="ghost" onClick={save("csv")}>
              Download CSV
            </button>
            <button type="button" class="ghost" onClick={save("parquet")}>
              Download Parquet
            </button>
          </div>
        </form>
      ) : (
        <p class="muted">Archive queries need the analyst role; you are {me.role}.</p>
      )}
      {error && <p class="error">{error}</p>}
      {answer && (
        <div class="card">
          <p class="muted" data-testid="query-rows">
            {answer.items.length} rows{answer.truncated ? ` (first ${MAX_ROWS}; download for up to 10,000)` : ""}
          </p>
          <Table
            columns={answer.columns.map((name) => [name, (row) => cell(row[name])])}
            rows={answer.items}
            rowProps={() => ({ class: "result" })}
            empty="No row matched."
          />
        </div>
      )}
    </section>
  );
}
